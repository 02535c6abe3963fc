package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc/stats"
)

// exitSocketTaken is the exit status of a sidecar that found another one
// serving, or starting to serve, on its socket. A plugin server that
// launched it for a shared socket then attaches to that other one.
const exitSocketTaken = 3

// errSocketTaken is lockSocket's answer when another sidecar holds the lock.
var errSocketTaken = errors.New("another process is serving on the socket (or loading its models to): it holds the lock")

// lockSocket takes an exclusive lock on path+".lock" for the life of the
// process, before the models load: two sidecars launched for one shared
// socket at once (two Kong generations during `kong reload`) would
// otherwise both load every model before one of them failed to listen.
// The kernel drops the lock when the process dies, however it dies.
func lockSocket(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("creating socket folder: %w", err)
	}
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the socket's lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errSocketTaken
		}
		return nil, fmt.Errorf("locking %s.lock: %w", path, err)
	}
	return f, nil
}

// clientCounter counts the gRPC connections open on the server, as a
// grpc stats.Handler: a shared sidecar lives as long as some plugin server
// is connected to it, plus --idle-exit.
type clientCounter struct {
	open      atomic.Int64
	served    atomic.Bool  // a client has connected: the socket was there
	idleSince atomic.Int64 // unix nanoseconds of the last drop to zero
}

func newClientCounter() *clientCounter {
	c := &clientCounter{}
	c.idleSince.Store(time.Now().UnixNano())
	return c
}

func (c *clientCounter) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (c *clientCounter) HandleRPC(context.Context, stats.RPCStats)                       {}
func (c *clientCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (c *clientCounter) HandleConn(_ context.Context, s stats.ConnStats) {
	switch s.(type) {
	case *stats.ConnBegin:
		c.open.Add(1)
		c.served.Store(true)
	case *stats.ConnEnd:
		if c.open.Add(-1) == 0 {
			c.idleSince.Store(time.Now().UnixNano())
		}
	}
}

// idle reports how long no client has been connected (0 while one is).
func (c *clientCounter) idle(now time.Time) time.Duration {
	if c.open.Load() > 0 {
		return 0
	}
	return now.Sub(time.Unix(0, c.idleSince.Load()))
}

// watchIdle sends SIGTERM's drain to signals once no client has been
// connected for after. A launched shared sidecar ends this way, not on its
// launcher's SIGTERM: during `kong reload` the next generation's plugin
// server is already connected when the old one is stopped (Kong 3.9.3,
// kong/runloop/plugin_servers/process.lua), and after `kong stop` the last
// client goes and the sidecar follows.
//
// A sidecar whose socket file is gone (Kong's prefix removed) cannot get a
// new client: it exits as soon as the last one has gone (once one has come:
// the socket appears only after the models have loaded).
func watchIdle(ctx context.Context, c *clientCounter, after time.Duration, socket string, signals chan<- os.Signal, log *slog.Logger) {
	t := time.NewTicker(min(max(after/4, 10*time.Millisecond), time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			idle := c.idle(now)
			if idle > 0 && c.served.Load() && !exists(socket) || idle >= after {
				log.Info("no plugin server connected; exiting", "idle_exit", after)
				select {
				case signals <- syscall.SIGTERM:
				default:
				}
				return
			}
		}
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
