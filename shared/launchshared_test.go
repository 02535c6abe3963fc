package shared_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared"
	"github.com/modelgate/modelgate/shared/pb"
)

// TestLaunchShared: plugin servers that launch the same shared sidecar at
// once get one sidecar that loads the models (the others' launches stop at
// its lock) and all attach to it; it outlives any one of them and leaves
// once the last is gone and its socket with it.
func TestLaunchShared(t *testing.T) {
	dir := t.TempDir()
	cfg := shared.SharedConfig{
		Launch: shared.LaunchConfig{
			Command: testutil.Binary(t, "modelgate-sidecar"),
			Args:    []string{"--models", testutil.TestModels(), "--intra-op-threads", "1"},
			Env:     []string{"ORT_LIB=" + testutil.ORTLib(t)},
		},
		Socket:   filepath.Join(dir, "sidecar.sock"),
		IdleExit: time.Minute,
		LogFile:  filepath.Join(dir, "logs", "sidecar.log"),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	clients := make([]*shared.Client, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() { clients[i], errs[i] = shared.LaunchShared(ctx, cfg) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("launcher %d: %v", i, err)
		}
		t.Cleanup(func() { clients[i].Close() })
	}
	log, err := os.ReadFile(cfg.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "loading model repository"); n != 1 {
		t.Errorf("%d sidecars loaded the models, want 1; log:\n%s", n, log)
	}
	for i, c := range clients {
		if _, err := c.ModelInfer(ctx, adderRequest()); err != nil {
			t.Errorf("client %d: %v", i, err)
		}
	}
	// One client goes (a plugin server stopped): the others keep the sidecar.
	clients[0].Close()
	if _, err := clients[1].ModelInfer(ctx, adderRequest()); err != nil {
		t.Errorf("after the first client left: %v", err)
	}
	// A late plugin server attaches instead of launching.
	late, err := shared.LaunchShared(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	late.Close()
	if log, _ := os.ReadFile(cfg.LogFile); strings.Count(string(log), "loading model repository") != 1 {
		t.Errorf("a late launcher started a sidecar that loaded the models; log:\n%s", log)
	}
	// The last clients go and the socket is removed (Kong's prefix
	// deleted): the sidecar exits without waiting out its minute.
	clients[1].Close()
	clients[2].Close()
	if err := os.Remove(cfg.Socket); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(readFile(t, cfg.LogFile), "sidecar stopped") {
		time.Sleep(50 * time.Millisecond) // the test's timeout bounds this
	}
}

// TestLaunchSharedAfterAnExitingSidecar: a sidecar that is exiting has
// removed its socket but still holds its lock while it unloads; a launcher
// that comes then sees its own sidecar stop at the lock, and must launch
// again once the lock is free instead of waiting for a socket that never
// comes.
func TestLaunchSharedAfterAnExitingSidecar(t *testing.T) {
	dir := t.TempDir()
	cfg := shared.SharedConfig{
		Launch: shared.LaunchConfig{
			Command: testutil.Binary(t, "modelgate-sidecar"),
			Args:    []string{"--models", testutil.TestModels(), "--intra-op-threads", "1"},
			Env:     []string{"ORT_LIB=" + testutil.ORTLib(t)},
		},
		Socket:   filepath.Join(dir, "sidecar.sock"),
		IdleExit: time.Minute,
		LogFile:  filepath.Join(dir, "sidecar.log"),
	}
	// The exiting sidecar: its lock held, no socket.
	lock, err := os.OpenFile(cfg.Socket+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(1500 * time.Millisecond) // the old sidecar finishes unloading
		lock.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := shared.LaunchShared(ctx, cfg)
	if err != nil {
		t.Fatalf("launch while an exiting sidecar held the lock: %v", err)
	}
	defer c.Close()
	if _, err := c.ModelInfer(ctx, adderRequest()); err != nil {
		t.Fatal(err)
	}
}

// TestLaunchSharedFailsClearly: a shared sidecar that cannot start says why.
func TestLaunchSharedFailsClearly(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := shared.LaunchShared(ctx, shared.SharedConfig{
		Launch: shared.LaunchConfig{
			Command: testutil.Binary(t, "modelgate-sidecar"),
			Args:    []string{"--models", filepath.Join(dir, "missing")},
			Env:     []string{"ORT_LIB=" + testutil.ORTLib(t)},
		},
		Socket: filepath.Join(dir, "sidecar.sock"), IdleExit: time.Minute, LogFile: filepath.Join(dir, "sidecar.log"),
	})
	if err == nil || !strings.Contains(err.Error(), "--models is not a readable folder") {
		t.Errorf("launch with a missing models folder: %v", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Error("the launcher waited out its deadline instead of noticing the exit")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func adderRequest() *pb.ModelInferRequest {
	return &pb.ModelInferRequest{ModelName: "adder", Inputs: []*pb.InferTensor{
		{Name: "a", Datatype: "FP32", Shape: []int64{1, 4}, Raw: testutil.FP32(1, 2, 3, 4)},
		{Name: "b", Datatype: "FP32", Shape: []int64{1, 4}, Raw: testutil.FP32(1, 1, 1, 1)},
	}}
}
