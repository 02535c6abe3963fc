package core

import (
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// slowModelRepository is a repository with the adder's version 1 whose
// model file is a named pipe: the sidecar's read of it blocks, as on slow
// storage, until feed writes the real model into it. Each feed serves one
// load. It returns the repository folder and feed.
func slowModelRepository(t *testing.T) (string, func()) {
	t.Helper()
	src := filepath.Join(testutil.TestModels(), "adder")
	repo := t.TempDir()
	dir := filepath.Join(repo, "adder", "1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.yaml", "1/model.onnx.sha256"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, "adder", f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	model, err := os.ReadFile(filepath.Join(src, "1", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	pipe := filepath.Join(dir, "model.onnx")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Fatal(err)
	}
	feed := func() {
		t.Helper()
		// Opening a pipe for writing waits for its reader: the sidecar.
		done := make(chan error, 1)
		go func() { done <- os.WriteFile(pipe, model, 0o644) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(2 * time.Minute): // a hang guard, not a speed check
			t.Fatal("the sidecar never read its model")
		}
	}
	return repo, feed
}

// TestFirstStartWaits: the first request reaches a gateway whose sidecar is
// still loading its model (Kong starts the plugin instance, and with it the
// sidecar, on that request). It waits and is answered. After a crash the
// rule is the opposite: while the relaunched sidecar loads, requests get
// 503 + Retry-After at once.
func TestFirstStartWaits(t *testing.T) {
	repo, feed := slowModelRepository(t)
	cfg := adderConfig(t)
	cfg.Sidecar = testSidecar(t)
	cfg.Sidecar.Args[1] = repo // --models
	g, err := Get(&cfg)
	if err != nil {
		t.Fatal(err)
	}

	answered := make(chan protocol.Response, 1)
	go func() { answered <- call(g, "POST", "/v2/models/adder/versions/1/infer", keyBob, adderBody) }()
	// The model cannot have loaded yet: the pipe is still empty. Feed it
	// once the request is waiting (or fail, if it was answered instead).
	for g.sidecar.waiting.Load() == 0 {
		select {
		case res := <-answered:
			t.Fatalf("answered while the sidecar was loading its model, instead of waiting: %d %s", res.Status, res.Body)
		case <-time.After(5 * time.Millisecond):
		}
	}
	feed()
	if res := <-answered; res.Status != http.StatusOK || res.Header.Get("X-Model-Version") != "1" {
		t.Fatalf("the request that waited for the first start: %d %v %s", res.Status, res.Header, res.Body)
	}

	// A crash: the relaunched sidecar blocks on the pipe again, so this
	// request certainly arrives while it is down.
	pid := childWithArg(t, repo)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for {
		res := call(g, "POST", "/v2/models/adder/versions/1/infer", keyBob, adderBody)
		if res.Status == http.StatusServiceUnavailable {
			if res.Header.Get("Retry-After") == "" {
				t.Fatalf("503 without Retry-After: %s", res.Body)
			}
			if g.sidecar.waiting.Load() != 0 {
				t.Fatal("a request is waiting for a restarted sidecar")
			}
			break
		}
		// 200: the supervisor has not noticed the crash yet.
		if res.Status != http.StatusOK {
			t.Fatalf("after the crash: %d %s", res.Status, res.Body)
		}
	}
	feed()
	startGateway(t, cfg) // serves again
}
