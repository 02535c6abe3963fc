package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared"
	"github.com/modelgate/modelgate/shared/pb"
)

// TestIdleExit: with --idle-exit a sidecar outlives a client that is
// connected however long, and exits cleanly (status 0, socket removed) once
// the last client has gone for that long.
func TestIdleExit(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "shared.sock")
	cmd := exec.Command(testutil.Binary(t, "modelgate-sidecar"), "--models", testutil.TestModels(), "--socket", sock,
		"--idle-exit", "200ms", "--ort-lib", testutil.ORTLib(t), "--log-level", "warn")
	cmd.Stderr = t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	var c *shared.Client
	for c == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, _ = shared.Attach(ctx, sock, 0)
		cancel()
		select {
		case err := <-done:
			t.Fatalf("sidecar exited before a client attached: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	// Connected for several idle periods, with no call in between: still
	// serving.
	time.Sleep(time.Second)
	if _, err := c.ServerLive(context.Background(), &pb.ServerLiveRequest{}); err != nil {
		t.Fatalf("sidecar stopped serving a connected client: %v", err)
	}
	c.Close()
	if err := <-done; err != nil {
		t.Errorf("exit once idle: %v, want status 0", err)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind: %v", err)
	}
}

// TestIdleExitNeedsSocket: --idle-exit only makes sense for a sidecar that
// clients attach to.
func TestIdleExitNeedsSocket(t *testing.T) {
	if _, err := parseFlags([]string{"--models", "m", "--idle-exit", "1s"}, os.Stderr); err == nil {
		t.Error("--idle-exit without --socket accepted")
	}
	if _, err := parseFlags([]string{"--models", "m", "--socket", "s", "--idle-exit", "-1s"}, os.Stderr); err == nil {
		t.Error("a negative --idle-exit accepted")
	}
}
