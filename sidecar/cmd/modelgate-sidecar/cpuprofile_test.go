package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
)

// TestCPUProfile runs a standalone sidecar with --cpuprofile until it is
// ready, stops it with SIGTERM and expects a complete pprof file (gzip).
func TestCPUProfile(t *testing.T) {
	bin := testutil.Binary(t, "modelgate-sidecar")
	dir := t.TempDir()
	sock, prof := filepath.Join(dir, "sidecar.sock"), filepath.Join(dir, "sidecar.cpu.pprof")
	cmd := exec.Command(bin, "--models", testutil.TestModels(),
		"--socket", sock, "--ort-lib", testutil.ORTLib(t), "--intra-op-threads", "1", "--cpuprofile", prof)
	cmd.Stderr = t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	for deadline := time.Now().Add(time.Minute); ; {
		if exec.Command(bin, "probe", "--socket", sock, "--ready").Run() == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sidecar never became ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("exit after SIGTERM: %v, want status 0", err)
	}
	data, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	// A pprof profile is a gzipped protobuf, written whole by StopCPUProfile.
	if len(data) < 20 || !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		t.Errorf("CPU profile of %d bytes, not a gzipped pprof file", len(data))
	}
}
