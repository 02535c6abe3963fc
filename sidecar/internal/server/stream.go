package server

import (
	"context"
	"errors"
	"io"
	"math"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/modelgate/modelgate/shared"
	"github.com/modelgate/modelgate/shared/pb"
)

// ModelStreamInfer serves tagged ModelInfer calls over one stream until the
// client closes it or the server drains. Each request runs on a worker
// goroutine of its own, so the stream's requests batch and overlap as
// separate ModelInfer calls do, and its answer goes back with its tag as
// soon as it is ready. On drain the stream ends once the requests it has
// started are answered; requests still on their way get no answer, and the
// client fails them as UNAVAILABLE, as gRPC refuses new calls then.
func (s *Server) ModelStreamInfer(st grpc.BidiStreamingServer[pb.StreamInferRequest, pb.StreamInferResponse]) error {
	is := &inferStream{s: s, st: st, cancels: map[uint64]context.CancelFunc{}, maxAnswer: s.maxMessageBytes}
	if md, ok := metadata.FromIncomingContext(st.Context()); ok {
		if v := md.Get(shared.MaxRecvMetadataKey); len(v) == 1 {
			if n, err := strconv.Atoi(v[0]); err == nil && n > 0 && (is.maxAnswer == 0 || n < is.maxAnswer) {
				is.maxAnswer = n
			}
		}
	}
	received := make(chan error, 1)
	go func() { received <- is.receive() }()
	var err error
	select {
	case err = <-received:
	case <-s.drainStarted():
	}
	is.mu.Lock()
	is.stopping = true
	is.mu.Unlock()
	is.running.Wait()
	return err
}

// inferStream is one ModelStreamInfer stream.
type inferStream struct {
	s  *Server
	st grpc.BidiStreamingServer[pb.StreamInferRequest, pb.StreamInferResponse]
	// maxAnswer is the largest answer the stream carries (0: no bound):
	// the sidecar's message limit or the client's, the smaller. A larger
	// one fails its call alone, where sending it would end the stream.
	maxAnswer int

	sendMu sync.Mutex // Send is not safe for concurrent use

	// mu guards stopping and cancels; once stopping is set no request is
	// added to running, so the handler can wait for it.
	mu       sync.Mutex
	stopping bool
	cancels  map[uint64]context.CancelFunc
	running  sync.WaitGroup
}

// receive reads the stream's messages and starts each request, until the
// stream ends: nil when the client closed its side.
func (is *inferStream) receive() error {
	ctx := is.st.Context()
	for {
		m, err := is.st.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if m.Cancel {
			is.mu.Lock()
			cancel := is.cancels[m.Tag]
			is.mu.Unlock()
			if cancel != nil {
				cancel()
			}
			continue
		}
		if m.Request == nil {
			is.send(&pb.StreamInferResponse{Tag: m.Tag, Code: int32(codes.InvalidArgument), Message: "a stream message without a request"})
			continue
		}
		var rctx context.Context
		var cancel context.CancelFunc
		if m.TimeoutUs > 0 && m.TimeoutUs < maxTimeoutUs {
			rctx, cancel = context.WithTimeout(ctx, time.Duration(m.TimeoutUs)*time.Microsecond)
		} else {
			rctx, cancel = context.WithCancel(ctx)
		}
		is.mu.Lock()
		if is.stopping {
			is.mu.Unlock()
			cancel()
			return nil
		}
		if _, dup := is.cancels[m.Tag]; dup {
			is.mu.Unlock()
			cancel()
			is.send(&pb.StreamInferResponse{Tag: m.Tag, Code: int32(codes.InvalidArgument), Message: "a stream tag already in flight"})
			continue
		}
		is.cancels[m.Tag] = cancel
		is.running.Add(1)
		is.mu.Unlock()
		is.s.streamWorkers.do(func() { is.run(rctx, m) })
	}
}

// maxTimeoutUs is the longest timeout a Duration holds; a longer one is
// no timeout.
const maxTimeoutUs = math.MaxInt64 / int64(time.Microsecond)

// run answers one request of the stream.
func (is *inferStream) run(ctx context.Context, m *pb.StreamInferRequest) {
	defer is.running.Done()
	resp, err := is.answer(ctx, m.Request)
	res := &pb.StreamInferResponse{Tag: m.Tag, Response: resp}
	if err != nil {
		st := status.Convert(err)
		res.Code, res.Message = int32(st.Code()), st.Message()
	}
	is.mu.Lock()
	cancel := is.cancels[m.Tag]
	delete(is.cancels, m.Tag)
	is.mu.Unlock()
	cancel()
	is.send(res)
}

// answer is ModelInfer with what the gRPC server gives a call of its own:
// a panic fails this request alone (the stream's recover interceptor does
// not reach this goroutine), and an answer over the message limit fails
// RESOURCE_EXHAUSTED, where sending it would end the stream.
func (is *inferStream) answer(ctx context.Context, req *pb.ModelInferRequest) (resp *pb.ModelInferResponse, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, panicked(is.s.log, pb.Inference_ModelStreamInfer_FullMethodName, p)
		}
	}()
	resp, err = is.s.ModelInfer(ctx, req)
	if err == nil && is.maxAnswer > 0 {
		if size := proto.Size(resp); size+answerOverhead > is.maxAnswer {
			return nil, status.Errorf(codes.ResourceExhausted, "the answer is %d bytes, over the %d-byte message limit (the sidecar's --max-message-bytes or the plugin's sidecar.max_message_bytes)", size, is.maxAnswer)
		}
	}
	return resp, err
}

// answerOverhead bounds what StreamInferResponse adds to its answer.
const answerOverhead = 32

// send writes one answer; a failure means the stream has ended, which its
// receive loop learns too.
func (is *inferStream) send(res *pb.StreamInferResponse) {
	is.sendMu.Lock()
	_ = is.st.Send(res)
	is.sendMu.Unlock()
}

// workers are goroutines kept to run requests of inference streams: a
// request that finds its model's instance idle runs ONNX Runtime on its
// goroutine, deep in the call chain, and a fresh goroutine's stack grows
// and is copied to that depth every time (see the sidecar's
// streamWorkers). Up to limit of them wait for the next request, for the
// life of the process; beyond that a request gets a goroutine of its own.
type workers struct {
	jobs  chan func()
	mu    sync.Mutex
	n     int
	limit int
}

func newWorkers(limit int) *workers { return &workers{jobs: make(chan func()), limit: limit} }

// do runs f on a waiting worker, a new kept worker, or a goroutine of its
// own, never on the caller's.
func (w *workers) do(f func()) {
	select {
	case w.jobs <- f:
		return
	default:
	}
	w.mu.Lock()
	keep := w.n < w.limit
	if keep {
		w.n++
	}
	w.mu.Unlock()
	if !keep {
		go f()
		return
	}
	go func() {
		for {
			f()
			f = <-w.jobs
		}
	}()
}
