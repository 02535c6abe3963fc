package server

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared"
	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
)

// countingServer is the real Server, counting the unary ModelInfer calls
// that reach it (the stream's requests do not pass here).
type countingServer struct {
	*Server
	unary atomic.Int64
}

func (c *countingServer) ModelInfer(ctx context.Context, req *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	c.unary.Add(1)
	return c.Server.ModelInfer(ctx, req)
}

// unaryOnly is a sidecar without ModelStreamInfer, as an older build: it
// answers the stream UNIMPLEMENTED, as gRPC does for an unknown method,
// and counts the attempts.
type unaryOnly struct {
	pb.UnimplementedInferenceServer
	s       *Server
	streams *atomic.Int64
}

func (u unaryOnly) ModelStreamInfer(grpc.BidiStreamingServer[pb.StreamInferRequest, pb.StreamInferResponse]) error {
	u.streams.Add(1)
	return status.Error(codes.Unimplemented, "unknown method ModelStreamInfer")
}

func (u unaryOnly) ModelInfer(ctx context.Context, req *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	return u.s.ModelInfer(ctx, req)
}

// serveSocket serves impl over a unix socket with gRPC, as the sidecar
// does, and returns the gateway's client (the stream) and the gRPC server.
func serveSocket(t *testing.T, impl pb.InferenceServer) (*shared.StreamingClient, *grpc.Server) {
	t.Helper()
	conn, gs := socketConn(t, impl)
	c := shared.NewStreamingClient(pb.NewInferenceClient(conn), 0)
	t.Cleanup(c.Close)
	return c, gs
}

// rowRequest adds a=[k, k+1, k+2, k+3] and b=[10,20,30,40].
func rowRequest(k int) *pb.ModelInferRequest {
	f := float32(k)
	return &pb.ModelInferRequest{ModelName: "adder", Inputs: []*pb.InferTensor{
		{Name: "a", Datatype: "FP32", Shape: []int64{1, 4}, Raw: testutil.FP32(f, f+1, f+2, f+3)},
		{Name: "b", Datatype: "FP32", Shape: []int64{1, 4}, Raw: testutil.FP32(10, 20, 30, 40)},
	}}
}

// rowSum is rowRequest(k)'s sum from the adder's latest version, 3, which
// adds 2 (version N adds N-1).
func rowSum(k int) []float32 {
	f := float32(k)
	return []float32{f + 12, f + 23, f + 34, f + 45}
}

// TestStreamAnswersEachCall sends 60 calls at once over the stream (the
// adder queues at most 64), each with its own input: every caller gets its own sum, and no call went
// through ModelInfer. Errors keep ModelInfer's codes and messages.
func TestStreamAnswersEachCall(t *testing.T) {
	s, _ := newServer(t, 0, "adder")
	cs := &countingServer{Server: s}
	c, _ := serveSocket(t, cs)
	var wg sync.WaitGroup
	for k := range 60 {
		wg.Go(func() {
			res, err := c.ModelInfer(context.Background(), rowRequest(k))
			if err != nil {
				t.Errorf("call %d: %v", k, err)
				return
			}
			sum := testutil.Float32s(output(t, res, "sum").Raw)
			if want := rowSum(k); !slices.Equal(sum, want) {
				t.Errorf("call %d: sum %v, want %v", k, sum, want)
			}
		})
	}
	wg.Wait()
	if n := cs.unary.Load(); n != 0 {
		t.Errorf("%d calls went through ModelInfer", n)
	}

	for _, tt := range []struct {
		req  *pb.ModelInferRequest
		code codes.Code
		msg  string
	}{
		{&pb.ModelInferRequest{ModelName: "subtractor"}, codes.NotFound, `model "subtractor" is not in the repository`},
		{adderRequest("", 9), codes.InvalidArgument, "batch size 9 (first dimension) is outside 1..8"},
	} {
		_, err := c.ModelInfer(context.Background(), tt.req)
		if st, _ := status.FromError(err); st.Code() != tt.code || !strings.Contains(st.Message(), tt.msg) {
			t.Errorf("got %v, want %v containing %q", err, tt.code, tt.msg)
		}
	}
}

// TestStreamLargeRequestUnary sends a request over the stream's size
// bound: it goes through ModelInfer, and is answered all the same.
func TestStreamLargeRequestUnary(t *testing.T) {
	s, _ := newServer(t, 0, "adder")
	cs := &countingServer{Server: s}
	c, _ := serveSocket(t, cs)
	req := rowRequest(1)
	req.Id = strings.Repeat("x", 70<<10)
	res, err := c.ModelInfer(context.Background(), req)
	if err != nil || res.Id != req.Id {
		t.Fatalf("large request: %v", err)
	}
	if n := cs.unary.Load(); n != 1 {
		t.Errorf("%d calls through ModelInfer, want the large one", n)
	}
}

// waitCounter waits up to 5 s for the sidecar to count a request of
// outcome; the client's answer can come before the sidecar's own count.
func waitCounter(t *testing.T, reg *prometheus.Registry, outcome string) {
	t.Helper()
	labels := map[string]string{"model": "adder", "version": "3", "outcome": outcome}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if counter(t, reg, "modelgate_sidecar_requests_total", labels) == 1 {
			return
		}
	}
	t.Errorf("the sidecar counted no %s request", outcome)
}

// TestStreamDeadlineAndCancel: a stream call's deadline and its
// cancellation end the request inside the sidecar too, as they end a
// ModelInfer call's: the sidecar counts it as a timeout or canceled.
func TestStreamDeadlineAndCancel(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		s, reg := newServer(t, 0, "adder")
		queueForever(t, s)
		c, _ := serveSocket(t, s)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := c.ModelInfer(ctx, adderRequest("", 1))
		if status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("queued past its deadline: %v", err)
		}
		waitCounter(t, reg, "timeout")
	})
	t.Run("cancel", func(t *testing.T) {
		s, reg := newServer(t, 0, "adder")
		queueForever(t, s)
		c, _ := serveSocket(t, s)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		_, err := c.ModelInfer(ctx, adderRequest("", 1))
		if status.Code(err) != codes.Canceled {
			t.Errorf("canceled while queued: %v", err)
		}
		waitCounter(t, reg, "canceled")
		// The stream still serves the next call.
		if _, err := c.ModelInfer(context.Background(), adderRequest("", 8)); err != nil {
			t.Errorf("after a cancel: %v", err)
		}
	})
}

// TestStreamDrain: once the sidecar drains, its streams end when their
// requests are answered, so the gRPC server's graceful stop does not wait
// for the client to close them; a call after that fails UNAVAILABLE, as a
// new ModelInfer call to a draining sidecar does.
func TestStreamDrain(t *testing.T) {
	s, _ := newServer(t, 0, "adder")
	c, gs := serveSocket(t, s)
	if _, err := c.ModelInfer(context.Background(), rowRequest(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() {
		gs.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("GracefulStop still waits for the inference stream")
	}
	_, err := c.ModelInfer(context.Background(), rowRequest(2))
	if status.Code(err) != codes.Unavailable {
		t.Errorf("after the drain: %v, want UNAVAILABLE", err)
	}
}

// TestStreamFallback: a sidecar without ModelStreamInfer answers every
// call, the first included, through ModelInfer, and the client asks for
// the stream only once.
func TestStreamFallback(t *testing.T) {
	s, _ := newServer(t, 0, "adder")
	var streams atomic.Int64
	c, _ := serveSocket(t, unaryOnly{s: s, streams: &streams})
	for k := range 3 {
		res, err := c.ModelInfer(context.Background(), rowRequest(k))
		if err != nil {
			t.Fatalf("call %d: %v", k, err)
		}
		if sum := testutil.Float32s(output(t, res, "sum").Raw); !slices.Equal(sum, rowSum(k)) {
			t.Errorf("call %d: sum %v", k, sum)
		}
	}
	if n := streams.Load(); n != 1 {
		t.Errorf("the client opened the stream %d times, want once", n)
	}
}

// textRequest asks text_sentiment about n short texts.
func textRequest(n int) *pb.ModelInferRequest {
	return &pb.ModelInferRequest{ModelName: "text_sentiment", Inputs: []*pb.InferTensor{
		{Name: "text", Datatype: "BYTES", Shape: []int64{int64(n)}, Raw: tensor.EncodeBytes(slices.Repeat([][]byte{[]byte("ok")}, n))},
	}}
}

// TestStreamAnswerOverLimit: an answer larger than the client accepts
// fails its own call with RESOURCE_EXHAUSTED, as it would fail a ModelInfer
// call, and the stream goes on serving (sent as it was, it would end the
// stream and fail every call on it).
func TestStreamAnswerOverLimit(t *testing.T) {
	s, _ := newServer(t, 0, "text_sentiment")
	cs := &countingServer{Server: s}
	sizes, _ := serveSocket(t, cs)
	small, err := sizes.ModelInfer(context.Background(), textRequest(1))
	if err != nil {
		t.Fatal(err)
	}
	large, err := sizes.ModelInfer(context.Background(), textRequest(8))
	if err != nil {
		t.Fatal(err)
	}
	limit := (proto.Size(small)+proto.Size(large))/2 + 32
	if proto.Size(textRequest(8))+32 >= limit || proto.Size(large)+32 <= limit {
		t.Fatalf("the test needs a request under %d bytes and an answer over it: %d, %d", limit, proto.Size(textRequest(8)), proto.Size(large))
	}
	conn, _ := socketConn(t, cs, grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(limit)))
	c := shared.NewStreamingClient(pb.NewInferenceClient(conn), limit)
	t.Cleanup(c.Close)
	_, err = c.ModelInfer(context.Background(), textRequest(8))
	if st, _ := status.FromError(err); st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), "message limit") {
		t.Errorf("an answer over the limit: %v, want RESOURCE_EXHAUSTED naming the limit", err)
	}
	if _, err := c.ModelInfer(context.Background(), textRequest(1)); err != nil {
		t.Errorf("the next call on the stream: %v", err)
	}
	if n := cs.unary.Load(); n != 0 {
		t.Errorf("%d calls through ModelInfer, want every one on the stream", n)
	}
}
