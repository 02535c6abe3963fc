// Package unixsock listens on unix sockets that appear at their path only
// once they accept connections.
package unixsock

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// Listen listens on path. bind creates a socket's file before listen makes
// it accept, so a client that waits for the file and connects in between
// is refused; and a listen on a path that another server is replacing
// leaves a moment with no socket there at all. Listen avoids both: it
// listens in a private folder beside path and renames the socket into
// place, which replaces whatever was at path in one step. A mode other
// than 0 is the socket's permission from its first instant (through the
// umask, which is process-wide: call it while no other goroutine creates
// files) and again after (chmod, for file systems that ignore the umask
// for sockets). Closing the listener removes path only while it is still
// this socket: a successor may have renamed its own over it.
func Listen(path string, mode os.FileMode) (net.Listener, error) {
	// Short names: a socket's path must fit in 108 bytes, and the private
	// one should be no longer than path.
	private, err := os.MkdirTemp(filepath.Dir(path), ".")
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: creating a private folder next to it: %w", path, err)
	}
	defer os.Remove(private)
	from := filepath.Join(private, "s")
	var l net.Listener
	if mode != 0 {
		old := syscall.Umask(int(^mode & 0o777))
		l, err = net.Listen("unix", from)
		syscall.Umask(old)
	} else {
		l, err = net.Listen("unix", from)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", from, err)
	}
	// The path it listened on is gone once renamed; Close removes path.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	if mode != 0 {
		if err := os.Chmod(from, mode); err != nil {
			l.Close()
			return nil, fmt.Errorf("cannot listen on %s: chmod: %w", path, err)
		}
	}
	if err := os.Rename(from, path); err != nil {
		l.Close()
		return nil, fmt.Errorf("cannot move the socket into place at %s: %w", path, err)
	}
	st, err := os.Lstat(path)
	if err != nil {
		l.Close()
		return nil, err
	}
	return &listener{Listener: l, path: path, file: st}, nil
}

// listener removes its path on Close while the path is still its socket.
type listener struct {
	net.Listener
	path string
	file os.FileInfo
	once sync.Once
}

func (l *listener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() {
		if st, serr := os.Lstat(l.path); serr == nil && os.SameFile(st, l.file) {
			_ = os.Remove(l.path)
		}
	})
	return err
}
