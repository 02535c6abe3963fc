package shared

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/modelgate/modelgate/shared/pb"
)

// streamMaxBytes is the largest request sent over the inference stream;
// larger ones go through ModelInfer, where HTTP/2 interleaves them with
// other calls instead of holding the stream while they are written, and
// where the per-call cost the stream saves is small beside the bytes.
const streamMaxBytes = 64 << 10

// streamOverhead bounds what StreamInferRequest adds to its request: the
// tag, the timeout, the field keys and the request's length.
const streamOverhead = 32

// MaxRecvMetadataKey is the stream's metadata that tells the sidecar the
// largest message the client accepts: an answer over it fails that call
// with RESOURCE_EXHAUSTED, as it would fail a ModelInfer call, instead of
// ending the stream and every call on it.
const MaxRecvMetadataKey = "modelgate-max-recv-bytes"

// StreamingClient is a pb.InferenceClient whose ModelInfer goes over one
// ModelStreamInfer stream: one message each way per call instead of a new
// HTTP/2 stream with its headers and trailers, about half the gRPC hop's
// CPU under load (BenchmarkSocketGRPC64 against BenchmarkSocketGRPCStream64
// in sidecar/internal/server). Calls with options, requests over
// streamMaxBytes or the message limit, and every call to a sidecar that
// lacks the stream (UNIMPLEMENTED) use ModelInfer. A call's answer, error
// status, deadline and cancellation are those ModelInfer would have given
// it.
type StreamingClient struct {
	pb.InferenceClient

	maxMessageBytes int
	ctx             context.Context // ends every stream when the client closes
	cancel          context.CancelFunc
	tags            atomic.Uint64
	unsupported     atomic.Bool

	mu  sync.Mutex
	cur *inferStream // nil until the next call opens one
}

// NewStreamingClient wraps c, whose connection allows messages of up to
// maxMessageBytes both ways (0: DefaultMaxMessageBytes). Close ends its
// stream, not c's connection.
func NewStreamingClient(c pb.InferenceClient, maxMessageBytes int) *StreamingClient {
	if maxMessageBytes <= 0 {
		maxMessageBytes = DefaultMaxMessageBytes
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &StreamingClient{InferenceClient: c, maxMessageBytes: maxMessageBytes, ctx: ctx, cancel: cancel}
}

// Close ends the stream; calls still waiting fail as UNAVAILABLE.
func (c *StreamingClient) Close() { c.cancel() }

// errStreamUnsupported says the sidecar has no ModelStreamInfer.
var errStreamUnsupported = errors.New("the sidecar has no inference stream")

// ModelInfer runs one request, over the stream where it can.
func (c *StreamingClient) ModelInfer(ctx context.Context, req *pb.ModelInferRequest, opts ...grpc.CallOption) (*pb.ModelInferResponse, error) {
	if len(opts) > 0 || c.unsupported.Load() || proto.Size(req)+streamOverhead > min(streamMaxBytes, c.maxMessageBytes) {
		return c.InferenceClient.ModelInfer(ctx, req, opts...)
	}
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	s, err := c.stream(ctx)
	if err != nil {
		return nil, err
	}
	res, err := s.call(ctx, c.tags.Add(1), req)
	if errors.Is(err, errStreamUnsupported) {
		return c.InferenceClient.ModelInfer(ctx, req, opts...)
	}
	return res, err
}

// stream returns the open stream, opening one if there is none, or ctx's
// error if opening takes longer than ctx allows.
func (c *StreamingClient) stream(ctx context.Context) (*inferStream, error) {
	c.mu.Lock()
	s := c.cur
	if s == nil {
		sctx, cancel := context.WithCancel(c.ctx)
		sctx = metadata.AppendToOutgoingContext(sctx, MaxRecvMetadataKey, strconv.Itoa(c.maxMessageBytes))
		s = &inferStream{owner: c, cancel: cancel, ready: make(chan struct{}), ended: make(chan struct{}),
			out: make(chan *pb.StreamInferRequest, sendQueue), calls: map[uint64]chan streamResult{}}
		c.cur = s
		go s.open(sctx)
	}
	c.mu.Unlock()
	select {
	case <-s.ready:
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if s.openErr != nil {
		return nil, s.openErr
	}
	return s, nil
}

// drop forgets s once it has ended, so that the next call opens another.
func (c *StreamingClient) drop(s *inferStream) {
	c.mu.Lock()
	if c.cur == s {
		c.cur = nil
	}
	c.mu.Unlock()
}

// sendQueue is how many messages wait for the stream's sender.
const sendQueue = 128

// inferStream is one ModelStreamInfer stream and its calls in flight.
// Calls hand their messages to one sender goroutine, so a caller whose
// deadline passes while the stream cannot take more (a sidecar that stopped
// reading) returns on time instead of waiting inside Send.
type inferStream struct {
	owner  *StreamingClient
	cancel context.CancelFunc
	// ready is closed once the stream is open (st set) or could not be
	// (openErr set).
	ready   chan struct{}
	st      grpc.BidiStreamingClient[pb.StreamInferRequest, pb.StreamInferResponse]
	openErr error
	out     chan *pb.StreamInferRequest // to the sender
	ended   chan struct{}               // closed by end

	mu    sync.Mutex
	calls map[uint64]chan streamResult // by tag; nil once ended
	err   error                        // why it ended
}

type streamResult struct {
	res *pb.ModelInferResponse
	err error
}

// open opens the stream on ctx, which lives as long as the stream, then
// sends and receives on it. Callers wait for ready, each within its own
// deadline, while the connection may still be coming up.
func (s *inferStream) open(ctx context.Context) {
	st, err := s.owner.InferenceClient.ModelStreamInfer(ctx)
	if err != nil {
		s.openErr = err
		s.owner.drop(s)
		s.cancel()
		close(s.ready)
		return
	}
	s.st = st
	close(s.ready)
	go s.send()
	s.receive()
}

// send writes the queued messages until the stream ends. A failed Send
// ends the stream in gRPC, and its receive loop learns why.
func (s *inferStream) send() {
	for {
		select {
		case m := <-s.out:
			if s.st.Send(m) != nil {
				return
			}
		case <-s.ended:
			return
		}
	}
}

// call sends req tagged tag and waits for its answer or ctx.
func (s *inferStream) call(ctx context.Context, tag uint64, req *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	m := &pb.StreamInferRequest{Tag: tag, Request: req}
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return nil, status.FromContextError(context.DeadlineExceeded).Err()
		}
		m.TimeoutUs = max(left.Microseconds(), 1)
	}
	ch := make(chan streamResult, 1)
	s.mu.Lock()
	if s.calls == nil {
		err := s.err
		s.mu.Unlock()
		return nil, err
	}
	s.calls[tag] = ch
	s.mu.Unlock()
	select {
	case s.out <- m:
	case <-s.ended: // end has failed this call
	case <-ctx.Done():
		s.forget(tag)
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	select {
	case r := <-ch:
		return r.res, r.err
	case <-ctx.Done():
		// Past its deadline the request's context in the sidecar has ended
		// too (timeout_us); a cancel tells the sidecar of any other end,
		// unless the queue is full (then the sidecar answers in vain).
		if s.forget(tag) && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			select {
			case s.out <- &pb.StreamInferRequest{Tag: tag, Cancel: true}:
			default:
			}
		}
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// forget removes tag's call and reports whether it was still waiting.
func (s *inferStream) forget(tag uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.calls[tag]
	delete(s.calls, tag)
	return ok
}

// receive hands each answer to its call until the stream ends, then fails
// the calls still waiting.
func (s *inferStream) receive() {
	for {
		m, err := s.st.Recv()
		if err != nil {
			s.end(err)
			return
		}
		s.mu.Lock()
		ch := s.calls[m.Tag]
		delete(s.calls, m.Tag)
		s.mu.Unlock()
		switch {
		case ch == nil: // its caller has gone
		case m.Code != int32(codes.OK):
			ch <- streamResult{err: status.Error(codes.Code(m.Code), m.Message)}
		case m.Response == nil:
			ch <- streamResult{err: status.Error(codes.Internal, "the sidecar answered a stream call without a response")}
		default:
			ch <- streamResult{res: m.Response}
		}
	}
}

// end records why the stream ended and fails every call still waiting:
// UNAVAILABLE, as a new call to a sidecar that is going away would fail,
// or errStreamUnsupported, which sends them through ModelInfer.
func (s *inferStream) end(err error) {
	switch {
	case status.Code(err) == codes.Unimplemented:
		s.owner.unsupported.Store(true)
		err = errStreamUnsupported
	case errors.Is(err, io.EOF):
		err = status.Error(codes.Unavailable, "the sidecar ended its inference stream (it is shutting down)")
	default:
		err = status.Errorf(codes.Unavailable, "the sidecar's inference stream ended: %v", status.Convert(err).Message())
	}
	s.owner.drop(s)
	s.mu.Lock()
	calls := s.calls
	s.calls, s.err = nil, err
	s.mu.Unlock()
	for _, ch := range calls {
		ch <- streamResult{err: err}
	}
	close(s.ended)
	s.cancel()
}
