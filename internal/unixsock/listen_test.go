package unixsock

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestListen: the socket is at its path, accepting, with its mode, and no
// private folder is left beside it; Close removes it.
func TestListen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")
	l, err := Listen(path, 0o660)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(path)
	if err != nil || st.Mode()&fs.ModeSocket == 0 || st.Mode().Perm() != 0o660 {
		t.Fatalf("socket %v (%v), want a socket with mode 0660", st, err)
	}
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	c.Close()
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("folder holds %d entries, want the socket alone", len(entries))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket still there after Close: %v", err)
	}
}

// TestListenReplaces: a second listener on the path takes it over in one
// step, and the first one's Close leaves the second one's socket alone.
func TestListenReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	first, err := Listen(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Listen(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	go func() {
		if c, err := second.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("the second listener's socket: %v", err)
	}
	c.Close()
}

// TestListenLongPath: a path near the 108-byte bound of a socket's path
// still fits while it listens in its private folder.
func TestListenLongPath(t *testing.T) {
	dir, err := os.MkdirTemp("", "mg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	name := "modelgate-sidecar-777c67b3115ea796.sock"
	for len(filepath.Join(dir, name)) < 100 {
		name = "x" + name
	}
	l, err := Listen(filepath.Join(dir, name), 0o660)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}
