// Package server implements the Inference gRPC service (shared/proto) over
// the model repository: it validates every request before anything is
// queued and maps each failure to the gRPC code a client can act on.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/sidecar/internal/batch"
	"github.com/modelgate/modelgate/sidecar/internal/config"
	"github.com/modelgate/modelgate/sidecar/internal/metrics"
	"github.com/modelgate/modelgate/sidecar/internal/ort"
	"github.com/modelgate/modelgate/sidecar/internal/repository"
)

// Platform is what ModelMetadata reports for every model.
const Platform = "onnxruntime_onnx"

// Server is the sidecar's pb.InferenceServer.
type Server struct {
	pb.UnimplementedInferenceServer
	repo        *repository.Repository
	metrics     *metrics.Metrics
	maxElements int64
	log         *slog.Logger

	// mu orders Drain against new requests: once draining is set no
	// request is added to inflight.
	mu       sync.RWMutex
	draining bool
	inflight sync.WaitGroup
	// drain is closed when Drain starts: inference streams end then.
	drain chan struct{}

	// streamWorkers run the requests of inference streams.
	streamWorkers *workers
	// maxMessageBytes is the gRPC server's message limit (0: none set).
	maxMessageBytes int
}

// streamWorkerCount is how many goroutines are kept to run the requests of
// inference streams, as the sidecar keeps as many for gRPC calls (its
// streamWorkers): enough for the requests 64 clients keep in flight.
const streamWorkerCount = 128

// New returns a server over repo; maxElements bounds each tensor's element
// count (0 = no bound beyond the message size).
func New(repo *repository.Repository, m *metrics.Metrics, maxElements int64, log *slog.Logger) *Server {
	return &Server{repo: repo, metrics: m, maxElements: maxElements, log: log,
		drain: make(chan struct{}), streamWorkers: newWorkers(streamWorkerCount)}
}

// LimitMessages tells the server the gRPC server's message limit (its
// MaxSendMsgSize), which an inference stream's answers must keep to.
func (s *Server) LimitMessages(maxBytes int) { s.maxMessageBytes = maxBytes }

// drainStarted is closed once Drain has started.
func (s *Server) drainStarted() <-chan struct{} { return s.drain }

// Drain makes new inference requests fail with UNAVAILABLE and waits for
// those in flight to finish, or for ctx. go-plugin keeps streams open on
// its gRPC server (stdio, broker), so a gRPC GracefulStop alone would wait
// for them too; Drain waits for inference only.
func (s *Server) Drain(ctx context.Context) error {
	s.mu.Lock()
	if !s.draining {
		s.draining = true
		close(s.drain)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("draining in-flight requests: %w", ctx.Err())
	}
}

// ServerLive answers true while the process serves.
func (s *Server) ServerLive(context.Context, *pb.ServerLiveRequest) (*pb.ServerLiveResponse, error) {
	return &pb.ServerLiveResponse{Live: true}, nil
}

// Ready reports whether every version the policies want is loaded and the
// server is not draining; the HTTP /v2/health/ready answers from it too.
func (s *Server) Ready() bool {
	s.mu.RLock()
	draining := s.draining
	s.mu.RUnlock()
	return !draining && s.repo.Ready()
}

// ServerReady answers Ready.
func (s *Server) ServerReady(context.Context, *pb.ServerReadyRequest) (*pb.ServerReadyResponse, error) {
	return &pb.ServerReadyResponse{Ready: s.Ready()}, nil
}

// RepositoryIndex lists the model versions and their states.
func (s *Server) RepositoryIndex(_ context.Context, req *pb.RepositoryIndexRequest) (*pb.RepositoryIndexResponse, error) {
	resp := &pb.RepositoryIndexResponse{}
	for _, e := range s.repo.Index() {
		if req.ReadyOnly && e.State != repository.StateReady {
			continue
		}
		resp.Models = append(resp.Models, &pb.RepositoryIndexResponse_ModelIndex{Name: e.Model, Version: e.Version, State: e.State, Reason: e.Reason,
			Digest: e.Digest, Source: e.Source})
	}
	return resp, nil
}

// ModelMetadata describes the public inputs and outputs of a ready version.
func (s *Server) ModelMetadata(_ context.Context, req *pb.ModelMetadataRequest) (*pb.ModelMetadataResponse, error) {
	served, release, err := s.acquire(req.Name, req.Version)
	if err != nil {
		return nil, err
	}
	defer release()
	versions, err := s.repo.ReadyVersions(req.Name)
	if err != nil {
		return nil, repoStatus(err)
	}
	return &pb.ModelMetadataResponse{
		Name: served.Model, Version: served.Version, Versions: versions, Platform: Platform,
		Inputs: tensorMetadata(served.Inputs), Outputs: tensorMetadata(served.Outputs),
		MaxBatchSize: int32(served.MaxBatchSize), Labels: served.Labels,
	}, nil
}

// ModelReady answers whether a version (the latest when empty) serves;
// an unknown model or version is NOT_FOUND.
func (s *Server) ModelReady(_ context.Context, req *pb.ModelReadyRequest) (*pb.ModelReadyResponse, error) {
	_, release, err := s.acquire(req.Name, req.Version)
	if err != nil {
		if status.Code(err) == codes.Unavailable {
			return &pb.ModelReadyResponse{Ready: false}, nil
		}
		return nil, err
	}
	release()
	return &pb.ModelReadyResponse{Ready: true}, nil
}

// ModelInfer validates and runs one request.
func (s *Server) ModelInfer(ctx context.Context, req *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	start := time.Now()
	s.mu.RLock()
	if s.draining {
		s.mu.RUnlock()
		s.metrics.Request("", "", metrics.OutcomeUnavailable, time.Since(start))
		return nil, status.Error(codes.Unavailable, "the sidecar is shutting down")
	}
	s.inflight.Add(1)
	s.mu.RUnlock()
	defer s.inflight.Done()
	defer s.metrics.Started()()
	served, release, err := s.acquire(req.ModelName, req.ModelVersion)
	if err != nil {
		s.metrics.Request("", "", outcome(err), time.Since(start))
		return nil, err
	}
	defer release()
	resp, err := s.infer(ctx, served, req)
	s.metrics.Request(served.Model, served.Version, outcome(err), time.Since(start))
	return resp, err
}

func (s *Server) infer(ctx context.Context, served *repository.Served, req *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	inputs, err := validate(served, req, s.maxElements)
	if err != nil {
		return nil, err
	}
	outputs, err := served.Infer(ctx, inputs, req.Outputs)
	if err != nil {
		return nil, s.inferStatus(served, err)
	}
	resp := &pb.ModelInferResponse{ModelName: served.Model, ModelVersion: served.Version, Id: req.Id, Outputs: make([]*pb.InferTensor, len(outputs))}
	for i, o := range outputs {
		resp.Outputs[i] = &pb.InferTensor{Name: o.Name, Datatype: string(o.DataType), Shape: o.Shape, Raw: o.Raw}
	}
	return resp, nil
}

// LoadModel loads (or reloads) a model's versions.
func (s *Server) LoadModel(ctx context.Context, req *pb.LoadModelRequest) (*pb.LoadModelResponse, error) {
	if err := checkNames(req.Name, req.Version); err != nil {
		return nil, err
	}
	versions, err := s.repo.Load(ctx, req.Name, req.Version)
	if err != nil {
		return nil, repoStatus(err)
	}
	return &pb.LoadModelResponse{Versions: versions}, nil
}

// UnloadModel drains and unloads a model's versions.
func (s *Server) UnloadModel(ctx context.Context, req *pb.UnloadModelRequest) (*pb.UnloadModelResponse, error) {
	if err := checkNames(req.Name, req.Version); err != nil {
		return nil, err
	}
	if err := s.repo.Unload(ctx, req.Name, req.Version); err != nil {
		return nil, repoStatus(err)
	}
	return &pb.UnloadModelResponse{}, nil
}

func (s *Server) acquire(name, version string) (*repository.Served, func(), error) {
	if err := checkNames(name, version); err != nil {
		return nil, nil, err
	}
	served, release, err := s.repo.Acquire(name, version)
	if err != nil {
		return nil, nil, repoStatus(err)
	}
	return served, release, nil
}

func checkNames(name, version string) error {
	if name == "" {
		return status.Error(codes.InvalidArgument, "model name is missing")
	}
	if err := config.CheckModelName(name); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if version != "" {
		if err := config.CheckVersion(version); err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
	}
	return nil
}

// repoStatus maps repository errors to codes.
func repoStatus(err error) error {
	switch {
	case errors.Is(err, repository.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, repository.ErrUnavailable):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, repository.ErrLoadFailed):
		return status.Error(codes.FailedPrecondition, err.Error())
	default:
		return status.Error(codes.Internal, err.Error())
	}
}

// inferStatus maps batcher and runtime errors to codes.
func (s *Server) inferStatus(served *repository.Served, err error) error {
	switch {
	case errors.Is(err, batch.ErrQueueFull):
		return status.Errorf(codes.ResourceExhausted, "model %s version %s: queue full, retry later", served.Model, served.Version)
	case errors.Is(err, batch.ErrClosed):
		return status.Errorf(codes.Unavailable, "model %s version %s is unloading, retry", served.Model, served.Version)
	case errors.Is(err, context.DeadlineExceeded):
		return status.Errorf(codes.DeadlineExceeded, "model %s version %s: deadline exceeded before the result was ready", served.Model, served.Version)
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, ort.ErrInvalidInput), errors.Is(err, batch.ErrInvalidInput):
		return status.Error(codes.InvalidArgument, err.Error())
	default:
		s.log.Error("inference failed", "model", served.Model, "version", served.Version, "error", err)
		return status.Errorf(codes.Internal, "model %s version %s: inference failed: %v", served.Model, served.Version, err)
	}
}

// outcome is the metrics label of a request's result.
func outcome(err error) string {
	switch status.Code(err) {
	case codes.OK:
		return metrics.OutcomeOK
	case codes.InvalidArgument:
		return metrics.OutcomeInvalid
	case codes.NotFound:
		return metrics.OutcomeNotFound
	case codes.Unavailable:
		return metrics.OutcomeUnavailable
	case codes.ResourceExhausted:
		return metrics.OutcomeQueueFull
	case codes.DeadlineExceeded:
		return metrics.OutcomeTimeout
	case codes.Canceled:
		return metrics.OutcomeCanceled
	default:
		return metrics.OutcomeError
	}
}

func tensorMetadata(specs []repository.TensorSpec) []*pb.TensorMetadata {
	out := make([]*pb.TensorMetadata, len(specs))
	for i, s := range specs {
		out[i] = &pb.TensorMetadata{Name: s.Name, Datatype: string(s.DataType), Shape: s.Shape}
	}
	return out
}
