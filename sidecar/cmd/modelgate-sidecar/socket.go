package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"

	"github.com/modelgate/modelgate/internal/unixsock"
	"github.com/modelgate/modelgate/shared/pb"
)

// serveSocket serves the Inference service on a unix socket until a signal.
func serveSocket(path string, srv inferenceServer, opts []grpc.ServerOption, signals <-chan os.Signal, log *slog.Logger) error {
	l, err := listenUnix(path)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	s := grpc.NewServer(opts...)
	pb.RegisterInferenceServer(s, srv)
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(l) }()
	log.Info("serving", "socket", path)
	select {
	case sig := <-signals:
		log.Info("signal received; draining in-flight requests", "signal", sig.String())
		shutdown(srv, s, log)
		return nil
	case err := <-errc:
		return fmt.Errorf("serving %s: %w", path, err)
	}
}

// listenUnix creates the socket's folder, removes a stale socket (one that
// no process answers on) and listens with mode 0660, so that only the owner
// and the group (Kong's) may connect (unixsock.Listen).
func listenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("creating socket folder: %w", err)
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket; refusing to remove it", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("another process is serving on %s", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing stale socket: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// Mode 0660 from its first instant, so no client outside the group
	// can connect; and at the path only once it accepts, so a plugin
	// server that sees the socket and connects is not refused. The umask
	// is process-wide; the only other goroutines now are the repository
	// poller, the metrics server and ONNX Runtime's threads, none of which
	// creates files.
	return unixsock.Listen(path, 0o660)
}
