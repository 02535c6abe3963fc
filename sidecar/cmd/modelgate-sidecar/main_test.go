package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared"
	"github.com/modelgate/modelgate/shared/pb"
)

// sidecar is a standalone modelgate-sidecar process owned by one test.
type sidecar struct {
	cmd     *exec.Cmd
	models  string
	socket  string
	metrics string
	done    chan error
}

// startSidecar runs the binary with --socket (in a folder it must create)
// and --metrics-addr, over a copy of the adder with the given config.
func startSidecar(t *testing.T, adderConfig, socket string) *sidecar {
	t.Helper()
	models := t.TempDir()
	src := filepath.Join(testutil.TestModels(), "adder", "1")
	for _, f := range []string{"model.onnx", "model.onnx.sha256"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(models, "adder", "1"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(models, "adder", "1", f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(models, "adder", "config.yaml"), []byte(adderConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return startSidecarOn(t, models, socket)
}

// startSidecarOn runs the binary as startSidecar does over the model
// repository models, with extra flags.
func startSidecarOn(t *testing.T, models, socket string, extra ...string) *sidecar {
	t.Helper()
	if socket == "" {
		socket = filepath.Join(t.TempDir(), "run", "modelgate", "sidecar.sock")
	}
	s := &sidecar{
		models:  models,
		socket:  socket,
		metrics: fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)),
		done:    make(chan error, 1),
	}
	s.cmd = exec.Command(testutil.Binary(t, "modelgate-sidecar"), "--models", models, "--socket", s.socket,
		"--metrics-addr", s.metrics, "--ort-lib", testutil.ORTLib(t), "--intra-op-threads", "1", "--poll-interval", "50ms",
		"--allow-spinning=false") // the flag's path; the repository test covers spinning's default
	s.cmd.Args = append(s.cmd.Args, extra...)
	s.cmd.Stderr = t.Output()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() { _ = s.cmd.Process.Kill() })
	return s
}

// attach waits for the socket (the sidecar loads its models first).
func (s *sidecar) attach(t *testing.T) *shared.Client {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := shared.Attach(ctx, s.socket, 0)
		cancel()
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
		select {
		case err := <-s.done:
			t.Fatalf("sidecar exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("attach: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metric returns the value of an unlabelled series on /metrics.
func (s *sidecar) metric(t *testing.T, name string) (float64, bool) {
	t.Helper()
	resp, err := http.Get("http://" + s.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var v float64
		if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			if _, err := fmt.Sscan(rest, &v); err == nil {
				return v, true
			}
		}
	}
	return 0, false
}

// ready returns the status code of GET /v2/health/ready.
func (s *sidecar) ready(t *testing.T) int {
	t.Helper()
	resp, err := http.Get("http://" + s.metrics + "/v2/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func adderRequest() *pb.ModelInferRequest {
	return &pb.ModelInferRequest{ModelName: "adder", Inputs: []*pb.InferTensor{
		{Name: "a", Datatype: "FP32", Shape: []int64{1, 4}, Raw: testutil.FP32(1, 2, 3, 4)},
		{Name: "b", Datatype: "FP32", Shape: []int64{1, 4}, Raw: testutil.FP32(1, 1, 1, 1)},
	}}
}

// TestSIGTERMDrains holds requests in the batcher's queue (a long queue
// delay and a batch that never fills), sends SIGTERM, and expects
// /v2/health/ready to turn 503, a new request to be refused with
// UNAVAILABLE by the still-running sidecar, every held request answered and
// a clean exit. The held requests wait out their 8 s queue delay, which is
// what keeps the sidecar up while the new one is refused.
func TestSIGTERMDrains(t *testing.T) {
	s := startSidecar(t, `max_batch_size: 8
dynamic_batching:
  max_queue_delay: 8s
  preferred_batch_sizes: [8]
`, "")
	c := s.attach(t)
	const n = 3
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			resp, err := c.ModelInfer(ctx, adderRequest())
			if err == nil && len(resp.Outputs) != 2 {
				err = fmt.Errorf("%d outputs", len(resp.Outputs))
			}
			errs <- err
		}()
	}
	// Wait until the sidecar holds all of them, then ask it to stop.
	for deadline := time.Now().Add(30 * time.Second); ; {
		if v, _ := s.metric(t, "modelgate_sidecar_inflight_requests"); v == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sidecar never held %d requests at once", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := s.ready(t); code != http.StatusOK {
		t.Fatalf("/v2/health/ready before SIGTERM: %d", code)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); s.ready(t) != http.StatusServiceUnavailable; {
		if time.Now().After(deadline) {
			t.Fatal("/v2/health/ready never turned 503 after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The message proves the draining sidecar refused it (a gone one would
	// also give UNAVAILABLE, but for a failed connection).
	_, err := c.ModelInfer(context.Background(), adderRequest())
	if st, _ := status.FromError(err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "shutting down") {
		t.Errorf("new request after SIGTERM: %v, want UNAVAILABLE from the draining sidecar", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("request in flight at SIGTERM failed: %v", err)
		}
	}
	if err := <-s.done; err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", err)
	}
	if _, err := os.Stat(s.socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind: %v", err)
	}
}

// TestStandalone covers the socket (created folder, stale file replaced,
// mode 0660), probe, and the metrics and health endpoints.
func TestStandalone(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "stale.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close() // leaves a socket file nobody answers on

	s := startSidecar(t, "max_batch_size: 8\n", sock)
	c := s.attach(t)
	if _, err := c.ModelInfer(context.Background(), adderRequest()); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(sock)
	if err != nil || st.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v %v, want 0660", st.Mode(), err)
	}
	bin := testutil.Binary(t, "modelgate-sidecar")
	for _, args := range [][]string{{"probe", "--socket", sock}, {"probe", "--socket", sock, "--ready"}} {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Errorf("%v: %v %s", args, err, out)
		}
	}
	missing := filepath.Join(t.TempDir(), "none.sock")
	if err := exec.Command(bin, "probe", "--socket", missing, "--timeout", "300ms").Run(); exitCode(err) != 1 {
		t.Errorf("probe of a missing socket: %v, want exit 1", err)
	}
	for path, want := range map[string]int{"/v2/health/live": 200, "/v2/health/ready": 200} {
		resp, err := http.Get("http://" + s.metrics + path)
		if err != nil || resp.StatusCode != want {
			t.Errorf("GET %s: %v %v", path, resp, err)
		} else {
			resp.Body.Close()
		}
	}
	resp, err := http.Get("http://" + s.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`modelgate_sidecar_requests_total{model="adder",outcome="ok",version="1"} 1`,
		`modelgate_sidecar_loaded_versions{model="adder"} 1`,
		`modelgate_sidecar_compute_duration_seconds_bucket{model="adder",version="1"`,
		`modelgate_sidecar_queue_duration_seconds_bucket{model="adder",version="1"`,
		`modelgate_sidecar_batch_size_bucket{model="adder",version="1"`,
		`modelgate_sidecar_request_duration_seconds_bucket{model="adder",version="1"`,
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// --poll-interval: a new version folder is loaded and, the policy
	// being latest 1, replaces version 1.
	src := filepath.Join(testutil.TestModels(), "adder", "2")
	if err := os.CopyFS(filepath.Join(s.models, "adder", "2"), os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := c.ModelInfer(context.Background(), adderRequest())
		if err == nil && resp.ModelVersion == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("version 2 never served: %v %v", resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A second sidecar on a live socket refuses to take it over, before
	// loading anything, with the status a launching plugin server reads as
	// "attach to that one".
	second := exec.Command(bin, "--models", t.TempDir(), "--socket", sock, "--ort-lib", testutil.ORTLib(t))
	if out, err := second.CombinedOutput(); exitCode(err) != exitSocketTaken || !strings.Contains(string(out), "another modelgate-sidecar serves this socket") {
		t.Errorf("second sidecar on a live socket: %v %s", err, out)
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestStartedByHand checks the message a human gets without --socket and
// without the go-plugin cookie, and flag errors.
func TestStartedByHand(t *testing.T) {
	bin := testutil.Binary(t, "modelgate-sidecar")
	cmd := exec.Command(bin, "--models", t.TempDir())
	cmd.Env = append(os.Environ(), shared.Handshake.MagicCookieKey+"=")
	out, err := cmd.CombinedOutput()
	if exitCode(err) != 2 || !strings.Contains(string(out), "--socket") || !strings.Contains(string(out), "plugin server") {
		t.Errorf("started by hand: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "--socket", "/tmp/x.sock", "--poll-interval", "-1s").CombinedOutput()
	if exitCode(err) != 2 || !strings.Contains(string(out), "--models DIR is required") || !strings.Contains(string(out), "--poll-interval must not be negative") {
		t.Errorf("bad flags: %v\n%s", err, out)
	}
}

// TestOrphanedPluginExits launches the sidecar in plugin mode from a shell,
// waits for go-plugin's handshake, then kills the shell: re-parented, the
// sidecar must shut itself down.
func TestOrphanedPluginExits(t *testing.T) {
	bin := testutil.Binary(t, "modelgate-sidecar")
	handshake := filepath.Join(t.TempDir(), "handshake")
	cmd := exec.Command("sh", "-c", `"$0" --models "$1" --ort-lib "$2" >"$3" 2>/dev/null & echo $!; exec sleep 600`,
		bin, t.TempDir(), testutil.ORTLib(t), handshake)
	cmd.Env = append(os.Environ(), shared.Handshake.MagicCookieKey+"="+shared.Handshake.MagicCookieValue)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Fscan(stdout, &pid); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	for deadline := time.Now().Add(time.Minute); ; {
		if data, _ := os.ReadFile(handshake); bytes.Contains(data, []byte("|grpc")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no go-plugin handshake")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	for deadline := time.Now().Add(30 * time.Second); alive(pid); {
		if time.Now().After(deadline) {
			t.Fatal("the orphaned sidecar is still running")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie waiting for its new parent to
// reap it counts as gone).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z")
}
