package resilience

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/modelgate/modelgate/bench"
	"github.com/modelgate/modelgate/internal/testutil"
)

// adderBody asks the test repository's adder model for a + b.
const adderBody = `{"inputs":[{"name":"a","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]},` +
	`{"name":"b","datatype":"FP32","shape":[1,4],"data":[10,20,30,40]}]}`

// serve is a running `modelgate serve` process.
type serve struct {
	url    string
	addr   string
	key    string
	cmd    *exec.Cmd
	exited chan struct{}
	client *http.Client
}

// testRepo is the sidecar's committed test model repository.
func testRepo() string { return filepath.Join(testutil.RepoRoot(), "sidecar", "testdata", "models") }

// copyModel copies the test repository's model (all its versions, or only
// those listed) into repo, optionally replacing its config.yaml.
func copyModel(t *testing.T, repo, model string, config string, versions ...string) {
	t.Helper()
	src := filepath.Join(testRepo(), model)
	if len(versions) == 0 {
		entries, err := os.ReadDir(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() {
				versions = append(versions, e.Name())
			}
		}
	}
	for _, v := range versions {
		copyDir(t, filepath.Join(src, v), filepath.Join(repo, model, v))
	}
	if config == "" {
		data, err := os.ReadFile(filepath.Join(src, "config.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		config = string(data)
	}
	if err := os.WriteFile(filepath.Join(repo, model, "config.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// launchSidecar is the plugin config's sidecar section that launches the
// real sidecar binary on repo.
func launchSidecar(t *testing.T, repo string, extra ...string) map[string]any {
	args := append([]string{"--models", repo, "--ort-lib", testutil.ORTLib(t), "--intra-op-threads", "1", "--log-level", "warn"}, extra...)
	return map[string]any{
		"mode": "launch", "command": testutil.Binary(t, "modelgate-sidecar"), "args": args,
		"check_interval": "100ms", "max_backoff": "500ms",
	}
}

// startServe writes a kong.yml for g (with a fresh API key) and runs
// `modelgate serve` on it, with extra flags, until the test ends.
func startServe(t *testing.T, g bench.GatewayConfig, extra ...string) *serve {
	t.Helper()
	dir := t.TempDir()
	key, digest := bench.NewAPIKey()
	g.APIKeySHA256 = digest
	cfgPath := filepath.Join(dir, "kong.yml")
	if err := bench.WriteKongYAML(cfgPath, g); err != nil {
		t.Fatal(err)
	}
	port := testutil.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(testutil.Binary(t, "modelgate"), append(serveArgs(cfgPath, addr), extra...)...)
	cmd.Dir = dir
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &serve{url: "http://" + addr, addr: addr, key: key, cmd: cmd, exited: make(chan struct{}),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	go func() { _ = cmd.Wait(); logf.Close(); close(s.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			if log, err := os.ReadFile(filepath.Join(dir, "serve.log")); err == nil {
				t.Logf("modelgate serve log:\n%s", tail(log, 4000))
			}
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(dir, "serve.log"))
			t.Fatalf("modelgate serve exited at start:\n%s", tail(log, 4000))
		default:
		}
		res := s.do(t.Context(), "GET", "/v2/health/ready", nil, nil)
		if res.err == nil && res.status == http.StatusOK {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("modelgate serve not ready within 2 minutes: %+v", res)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serveArgs is the command line of `modelgate serve`.
func serveArgs(config, addr string) []string {
	return []string{"serve", "--config", config, "--listen", addr}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// result is one request's outcome, with when it started and ended.
type result struct {
	start, end time.Time
	status     int
	header     http.Header
	body       []byte
	err        error
}

func (r result) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(r.body))
}

// do sends one request; header may add or replace headers (the API key is
// not added: see infer).
func (s *serve) do(ctx context.Context, method, path string, body []byte, header http.Header) result {
	r := result{start: time.Now()}
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, bytes.NewReader(body))
	if err != nil {
		r.err = err
		return r
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		r.err, r.end = err, time.Now()
		return r
	}
	defer resp.Body.Close()
	r.body, r.err = io.ReadAll(resp.Body)
	r.status, r.header, r.end = resp.StatusCode, resp.Header, time.Now()
	return r
}

// infer POSTs body to path with the API key, within timeout.
func (s *serve) infer(ctx context.Context, path, body string, timeout time.Duration) result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return s.do(ctx, "POST", path, []byte(body), http.Header{"Apikey": {s.key}})
}

// hammer runs clients callers of fn until ctx ends and returns every outcome.
func hammer(ctx context.Context, clients int, fn func(ctx context.Context) result) []result {
	out := make(chan []result, clients)
	for range clients {
		go func() {
			var mine []result
			for ctx.Err() == nil {
				r := fn(context.WithoutCancel(ctx))
				mine = append(mine, r)
			}
			out <- mine
		}()
	}
	var all []result
	for range clients {
		all = append(all, <-out...)
	}
	return all
}

// sidecarPid is the one sidecar process serve launched, or 0.
func (s *serve) sidecarPid() int {
	pids := bench.Children(s.cmd.Process.Pid, "modelgate-sidecar")
	if len(pids) != 1 {
		return 0
	}
	return pids[0]
}
