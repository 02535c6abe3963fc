package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc/status"

	"github.com/modelgate/modelgate/bench/load"
	"github.com/modelgate/modelgate/shared"
	"github.com/modelgate/modelgate/shared/pb"
)

// Sidecar is a modelgate-sidecar process started standalone on a socket.
type Sidecar struct {
	Socket string
	cmd    *exec.Cmd
	exited chan struct{}
	conn   *shared.Client
	// Client talks to the sidecar over its socket.
	Client pb.InferenceClient
}

// StartSidecar starts binary --models models --socket dir/sidecar.sock and
// waits until it is ready. Its log goes to logw.
func StartSidecar(ctx context.Context, binary, lib, models, dir string, logw io.Writer, extra ...string) (*Sidecar, error) {
	socket := filepath.Join(dir, "sidecar.sock")
	args := append([]string{"--models", models, "--socket", socket, "--ort-lib", lib, "--log-level", "warn"}, extra...)
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = logw, logw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	s := &Sidecar{Socket: socket, cmd: cmd, exited: make(chan struct{})}
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("sidecar exited before it listened: %v", waitErr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, errors.New("sidecar did not create its socket within 60s")
		}
	}
	// The plugin server's own client, so the socket path measured is the one it takes.
	c, err := shared.Attach(ctx, socket, 0)
	if err != nil {
		s.Stop()
		return nil, err
	}
	s.conn, s.Client = c, c
	for {
		r, err := s.Client.ServerReady(ctx, &pb.ServerReadyRequest{})
		if err == nil && r.Ready {
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("sidecar not ready within 60s (last error: %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pid is the sidecar's process id.
func (s *Sidecar) Pid() int { return s.cmd.Process.Pid }

// Stop sends SIGTERM, waits up to 10 s, then kills.
func (s *Sidecar) Stop() {
	if s.conn != nil {
		s.conn.Close()
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// InferFunc returns a load function that sends one request of batch items
// of random tokens to model over client, a fresh request body per client goroutine.
func InferFunc(client pb.InferenceClient, model string, m Model, batch int, seed uint64) load.Func {
	rng := rand.New(rand.NewPCG(seed, 7))
	// A small pool of bodies so requests differ without generating tokens on the hot path.
	reqs := make([]*pb.ModelInferRequest, 16)
	for i := range reqs {
		reqs[i] = &pb.ModelInferRequest{
			ModelName: model,
			Inputs: []*pb.InferTensor{{
				Name: m.Input, Datatype: "INT64", Shape: []int64{int64(batch), int64(m.SeqLen)}, Raw: m.Tokens(rng, batch),
			}},
		}
	}
	var next atomic.Uint64
	return func(ctx context.Context) (int, error) {
		// Concurrent callers may share a request: gRPC only reads it.
		i := next.Add(1) % uint64(len(reqs))
		resp, err := client.ModelInfer(ctx, reqs[i])
		if err != nil {
			return 0, grpcError{err}
		}
		if len(resp.Outputs) == 0 || len(resp.Outputs[0].Raw) != 4*batch*m.Classes {
			return 0, fmt.Errorf("unexpected answer: %d outputs", len(resp.Outputs))
		}
		return batch, nil
	}
}

// grpcError gives a gRPC failure its status code as its load kind.
type grpcError struct{ err error }

func (e grpcError) Error() string { return e.err.Error() }
func (e grpcError) Unwrap() error { return e.err }
func (e grpcError) Kind() string  { return "grpc_" + status.Code(e.err).String() }

// LiveFunc returns a load function calling the empty ServerLive RPC: the
// socket's and gRPC's own cost per call. It reports 0 items.
func LiveFunc(client pb.InferenceClient) load.Func {
	return func(ctx context.Context) (int, error) {
		if _, err := client.ServerLive(ctx, &pb.ServerLiveRequest{}); err != nil {
			return 0, grpcError{err}
		}
		return 0, nil
	}
}
