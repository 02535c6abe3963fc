package shared_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/internal/version"
	"github.com/modelgate/modelgate/shared"
	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
)

// bigIdentityRequest sends identity_types every datatype in [1, n] tensors,
// over 5 MB in all each way (gRPC's and go-plugin's default limit is 4 MiB).
func bigIdentityRequest() *pb.ModelInferRequest {
	const n = 110_000
	req := &pb.ModelInferRequest{ModelName: "identity_types"}
	for _, dt := range []tensor.DataType{tensor.FP32, tensor.FP64, tensor.FP16, tensor.Int8, tensor.Int16, tensor.Int32,
		tensor.Int64, tensor.UInt8, tensor.UInt16, tensor.UInt32, tensor.UInt64, tensor.Bool, tensor.Bytes} {
		in := &pb.InferTensor{Name: "in_" + strings.ToLower(string(dt)), Datatype: string(dt), Shape: []int64{1, n}}
		if dt == tensor.Bytes {
			in.Raw = tensor.EncodeBytes(slices.Repeat([][]byte{[]byte("x")}, n))
		} else {
			in.Raw = bytes.Repeat([]byte{0, 1}, n*dt.Size()/2+1)[:n*dt.Size()]
			if dt == tensor.Bool || dt.Size() == 1 {
				in.Raw = bytes.Repeat([]byte{1}, n)
			}
		}
		req.Inputs = append(req.Inputs, in)
	}
	return req
}

func checkServes(t *testing.T, c pb.InferenceClient) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r, err := c.ServerReady(ctx, &pb.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Fatalf("ServerReady: %v %v", r, err)
	}
	req := bigIdentityRequest()
	resp, err := c.ModelInfer(ctx, req)
	if err != nil {
		t.Fatalf("5 MB request: %v", err)
	}
	if size := proto.Size(resp); size < 5<<20 {
		t.Errorf("answer is %d bytes, want > 5 MiB", size)
	}
	for i, in := range req.Inputs {
		if !bytes.Equal(resp.Outputs[i].Raw, in.Raw) {
			t.Errorf("%s came back as %s with other bytes", in.Name, resp.Outputs[i].Name)
		}
	}
}

func TestLaunch(t *testing.T) {
	bin := testutil.Binary(t, "modelgate-sidecar")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := shared.Launch(ctx, shared.LaunchConfig{
		Command:         bin,
		Args:            []string{"--models", testutil.TestModels(), "--intra-op-threads", "1"},
		Env:             []string{"ORT_LIB=" + testutil.ORTLib(t)},
		MaxMessageBytes: 16 << 20,
		Logger:          testutil.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() }) // also when a check fails; Close is idempotent
	checkServes(t, c)
	if c.Exited() {
		t.Error("Exited while serving")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if !c.Exited() {
		t.Error("still running after Close")
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close of a launched client: %v", err)
	}
}

func TestLaunchFailsClearly(t *testing.T) {
	bin := testutil.Binary(t, "modelgate-sidecar")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := shared.Launch(ctx, shared.LaunchConfig{Command: bin, Args: []string{"--models", filepath.Join(t.TempDir(), "missing")},
		Env: []string{"ORT_LIB=" + testutil.ORTLib(t)}, Logger: testutil.Logger(t)})
	if err == nil {
		t.Fatal("launch with a missing models folder succeeded")
	}
	// The error must say what is wrong, not only that the handshake failed.
	if msg := err.Error(); !strings.Contains(msg, "--models is not a readable folder") || !strings.Contains(msg, "no such file or directory") {
		t.Errorf("error does not say the models folder is missing: %v", err)
	}
}

func TestAttach(t *testing.T) {
	bin := testutil.Binary(t, "modelgate-sidecar")
	sock := filepath.Join(t.TempDir(), "run", "sidecar.sock")
	cmd := exec.Command(bin, "--models", testutil.TestModels(), "--socket", sock, "--ort-lib", testutil.ORTLib(t), "--max-message-bytes", "16777216")
	cmd.Stderr = t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	c := attach(t, sock)
	checkServes(t, c)
	if c.Exited() {
		t.Error("an attached client reports Exited")
	}
	st, err := os.Stat(sock)
	if err != nil || st.Mode()&fs.ModeSocket == 0 || st.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v (%v), want a socket with 0660", st.Mode(), err)
	}
	for i := range 2 {
		if err := c.Close(); err != nil {
			t.Errorf("Close #%d of an attached client: %v", i+1, err)
		}
	}
}

// TestAttachRefusesAnotherBuild: a plugin server and a sidecar of
// different builds refuse each other with a message naming both builds.
func TestAttachRefusesAnotherBuild(t *testing.T) {
	_, sock := startStandalone(t)
	attach(t, sock).Close() // up, and of a compatible build
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := shared.AttachAs(ctx, sock, 0, "0.0.1+0123456789ab")
	if err == nil {
		t.Fatal("a plugin server of another build attached")
	}
	if msg := err.Error(); !strings.Contains(msg, "refuses a plugin server of build 0.0.1+0123456789ab") || !strings.Contains(msg, "modelgate-sidecar build "+version.Version+"+") {
		t.Errorf("the refusal does not name both builds: %v", err)
	}
}

// attach waits (up to a minute: the sidecar loads its models first) for the
// standalone sidecar's socket.
func attach(t *testing.T, sock string) *shared.Client {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := shared.Attach(ctx, sock, 16<<20)
		cancel()
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("attach: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCloseAnswersRequestsInFlight: Close drains a launched sidecar, and a
// request it holds (here queued for company by max_queue_delay) is still
// answered over the inference stream before the stream ends.
func TestCloseAnswersRequestsInFlight(t *testing.T) {
	models := t.TempDir()
	if err := os.CopyFS(filepath.Join(models, "adder"), os.DirFS(filepath.Join(testutil.TestModels(), "adder"))); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(models, "adder", "config.yaml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	slow := strings.Replace(string(cfg), "dynamic_batching:\n", "dynamic_batching:\n  max_queue_delay: 1s\n", 1)
	if slow == string(cfg) {
		t.Fatal("the adder's config has no dynamic_batching block to slow down")
	}
	if err := os.WriteFile(cfgPath, []byte(slow), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := shared.Launch(ctx, shared.LaunchConfig{
		Command: testutil.Binary(t, "modelgate-sidecar"),
		Args:    []string{"--models", models, "--intra-op-threads", "1"},
		Env:     []string{"ORT_LIB=" + testutil.ORTLib(t)},
		Logger:  testutil.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	req := &pb.ModelInferRequest{ModelName: "adder", Inputs: []*pb.InferTensor{
		{Name: "a", Datatype: "FP32", Shape: []int64{1, 4}, Raw: testutil.FP32(1, 2, 3, 4)},
		{Name: "b", Datatype: "FP32", Shape: []int64{1, 4}, Raw: testutil.FP32(10, 20, 30, 40)},
	}}
	type result struct {
		res *pb.ModelInferResponse
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := c.ModelInfer(ctx, req)
		done <- result{res, err}
	}()
	time.Sleep(300 * time.Millisecond) // queued, waiting a second for company
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("a request in flight at Close: %v", r.err)
	}
	// The adder's latest version, 3, adds 2.
	if sum := testutil.Float32s(r.res.Outputs[0].Raw); r.res.Outputs[0].Name != "sum" || !slices.Equal(sum, []float32{13, 24, 35, 46}) {
		t.Errorf("answer %v", r.res.Outputs)
	}
}

// TestDeadlinesWhileTheSidecarIsStopped: a sidecar that stops reading (here
// SIGSTOP) fills the socket and the stream's send window; calls still end
// at their deadlines with DEADLINE_EXCEEDED, as ModelInfer calls would,
// instead of waiting to be sent. After SIGCONT the sidecar serves again.
func TestDeadlinesWhileTheSidecarIsStopped(t *testing.T) {
	cmd, sock := startStandalone(t)
	c := attach(t, sock)
	t.Cleanup(func() { _ = c.Close() })
	// Each request about 60 KB (its id), under the stream's 64 KiB.
	req := &pb.ModelInferRequest{ModelName: "adder", Id: strings.Repeat("x", 60000), Inputs: []*pb.InferTensor{
		{Name: "a", Datatype: "FP32", Shape: []int64{1, 4}, Raw: testutil.FP32(1, 2, 3, 4)},
		{Name: "b", Datatype: "FP32", Shape: []int64{1, 4}, Raw: testutil.FP32(10, 20, 30, 40)},
	}}
	if _, err := c.ModelInfer(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	const calls = 64 // about 4 MB: more than the socket and gRPC's send quota hold
	errs := make(chan error, calls)
	for range calls {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			_, err := c.ModelInfer(ctx, req)
			errs <- err
		}()
	}
	// A generous bound, not a speed goal: calls stuck waiting to be sent
	// would stay stuck until the stream ended.
	bound := time.After(30 * time.Second)
	for range calls {
		select {
		case err := <-errs:
			if status.Code(err) != codes.DeadlineExceeded {
				t.Errorf("a call to a stopped sidecar: %v, want DEADLINE_EXCEEDED", err)
			}
		case <-bound:
			t.Fatal("calls to a stopped sidecar still wait past their deadlines")
		}
	}
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.ModelInfer(ctx, req); err != nil {
		t.Errorf("after SIGCONT: %v", err)
	}
}

// startStandalone starts a sidecar serving the test models on a socket of
// its own (standalone mode) and returns it and the socket; it is killed
// (continued first, should a test have stopped it) when the test ends.
func startStandalone(t *testing.T) (*exec.Cmd, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "sidecar.sock")
	cmd := exec.Command(testutil.Binary(t, "modelgate-sidecar"), "--models", testutil.TestModels(), "--socket", sock, "--ort-lib", testutil.ORTLib(t))
	cmd.Stderr = t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, sock
}
