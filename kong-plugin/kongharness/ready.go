package kongharness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// rejectedMessage starts the plugin's log line for a config it refuses
// (kong-plugin/internal/kong: every request of that instance then gets 500
// "the modelgate plugin is misconfigured").
var rejectedMessage = []byte("modelgate plugin config rejected")

// rejectionLog passes the plugin server's output on to out and keeps the
// last line that says the plugin refused its config.
type rejectionLog struct {
	out io.Writer

	mu      sync.Mutex
	partial []byte
	last    string
}

func (l *rejectionLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		if line := l.partial[:i]; bytes.Contains(line, rejectedMessage) {
			l.last = string(line)
		}
		l.partial = l.partial[i+1:]
	}
	if len(l.partial) > 64<<10 {
		l.partial = l.partial[:0] // a line that long is not the one looked for
	}
	l.mu.Unlock()
	return l.out.Write(p)
}

func (l *rejectionLog) line() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// ErrConfigRejected is wrapped by WaitReady's error when the plugin refused
// its config.
var ErrConfigRejected = fmt.Errorf("the plugin refused its config")

// WaitReady asks GET /v2/health/ready through instance id until it answers
// 200 or ctx ends. When the plugin answers that it refused its config, the
// wait ends at once with the plugin's own error from its log: Kong would
// answer every request the same way, so waiting changes nothing.
func (s *Server) WaitReady(ctx context.Context, id int32) error {
	return waitReady(ctx, func(ctx context.Context) (*Response, error) {
		return s.Access(ctx, id, Request{Method: http.MethodGet, Path: "/v2/health/ready", ClientIP: "127.0.0.1"})
	}, s.rejected.line)
}

// WaitReady is Server.WaitReady through the node's current plugin server.
func (n *Node) WaitReady(ctx context.Context) error {
	return waitReady(ctx, func(ctx context.Context) (*Response, error) {
		return n.Access(ctx, Request{Method: http.MethodGet, Path: "/v2/health/ready", ClientIP: "127.0.0.1"})
	}, func() string { return n.Server().rejected.line() })
}

func waitReady(ctx context.Context, ready func(context.Context) (*Response, error), rejected func() string) error {
	for {
		res, err := ready(ctx)
		if err != nil {
			return fmt.Errorf("readiness through the plugin server: %w", err)
		}
		if res.Status == http.StatusOK {
			return nil
		}
		if res.Status == http.StatusInternalServerError && bytes.Contains(res.Body, []byte("misconfigured")) {
			// The answer can arrive before the harness has read the
			// plugin's log line about it from the pipe: wait for the line.
			line := rejected()
			for deadline := time.Now().Add(5 * time.Second); line == "" && time.Now().Before(deadline) && ctx.Err() == nil; line = rejected() {
				time.Sleep(10 * time.Millisecond)
			}
			return fmt.Errorf("%w: %s", ErrConfigRejected, line)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready (status %d: %.200s): %w", res.Status, res.Body, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
