package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelgate/modelgate/bench"
	"github.com/modelgate/modelgate/internal/testutil"
)

// The demo API key of the root kong.yml (a public DEMO credential).
const demoKey = "mg_demo_e61044aa8a46a9ee4a1912d0839d8a2f"

// startupBound is how long a gateway may take to load the models: a bound
// against a hung start, never a speed assertion.
const startupBound = 3 * time.Minute

// server is one running `modelgate serve`.
type server struct {
	addr   string // host:port
	cmd    *exec.Cmd
	output *lockedBuffer
	done   chan struct{}
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// binEnv is the environment the gateway and README commands run with: the
// sidecar binary first on PATH (kong.yml names it without a path), the
// ONNX Runtime library, and demo mode, as `make run` sets it (kong.yml's
// DEMO credentials are refused without it).
func binEnv(t *testing.T) []string {
	t.Helper()
	sidecarDir := filepath.Dir(testutil.Binary(t, "modelgate-sidecar"))
	gatewayDir := filepath.Dir(testutil.Binary(t, "modelgate"))
	return append(os.Environ(),
		"PATH="+sidecarDir+string(os.PathListSeparator)+gatewayDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"ORT_LIB="+testutil.ORTLib(t),
		"MODELGATE_DEMO=1",
	)
}

// startServe runs `modelgate serve --config config` in dir (where the
// config's relative paths resolve) and waits until it answers ready. The
// cleanup stops it with SIGTERM and checks that it shut down cleanly.
func startServe(t *testing.T, dir, config string) *server {
	t.Helper()
	s := &server{
		addr:   fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)),
		output: &lockedBuffer{},
		done:   make(chan struct{}),
	}
	s.cmd = exec.Command(testutil.Binary(t, "modelgate"), "serve", "--config", config, "--listen", s.addr)
	s.cmd.Dir = dir
	s.cmd.Env = binEnv(t)
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting modelgate serve: %v", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.stop(t) })
	s.waitReady(t)
	return s
}

func (s *server) waitReady(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startupBound)
	defer cancel()
	for {
		select {
		case <-s.done:
			t.Fatalf("modelgate serve exited before it was ready (%v):\n%s", s.cmd.ProcessState, s.output)
		case <-ctx.Done():
			t.Fatalf("modelgate serve not ready after %s:\n%s", startupBound, s.output)
		case <-time.After(50 * time.Millisecond):
		}
		// "ready on" is printed once the sidecar has loaded every model.
		if strings.Contains(s.output.String(), "ready on "+s.addr) {
			return
		}
	}
}

// stop sends SIGTERM, as a user's Ctrl+C or an orchestrator would, and
// expects a clean exit.
func (s *server) stop(t *testing.T) {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("modelgate serve did not stop within a minute of SIGTERM:\n%s", s.output)
		return
	}
	if !s.cmd.ProcessState.Success() {
		t.Errorf("modelgate serve exited with %v after SIGTERM:\n%s", s.cmd.ProcessState, s.output)
	}
}

// do sends one request and returns status, headers and body.
func (s *server) do(t *testing.T, method, path string, header http.Header, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, data
}

// repoCopy copies what the root kong.yml refers to (itself, deploy/models,
// deploy/keys) into a fresh folder, so a test may edit kong.yml as a user would.
func repoCopy(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	root := testutil.RepoRoot()
	for _, rel := range []string{"kong.yml", "deploy/models", "deploy/keys"} {
		if err := bench.CopyTree(filepath.Join(root, rel), filepath.Join(dst, rel)); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// editFile replaces old with new in a file, exactly once.
func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), old); n != 1 {
		t.Fatalf("%s: %q occurs %d times, want once", path, old, n)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}
