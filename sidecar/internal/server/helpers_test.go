package server

import (
	"context"
	"math"
	"net"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/sidecar/internal/metrics"
	"github.com/modelgate/modelgate/sidecar/internal/repository"
	"github.com/modelgate/modelgate/sidecar/internal/testmodels"
)

// newServer serves copies of the named test models; maxElements as the flag.
func newServer(t testing.TB, maxElements int64, models ...string) (*Server, *prometheus.Registry) {
	t.Helper()
	return newServerIn(t, testmodels.Repo(t, models...), maxElements)
}

// newServerIn serves the repository dir (which a test may have edited).
func newServerIn(t testing.TB, dir string, maxElements int64) (*Server, *prometheus.Registry) {
	t.Helper()
	testmodels.InitORT(t)
	log := testutil.Logger(t)
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	repo := repository.New(repository.Options{Dir: dir, Metrics: m, Logger: log, IntraOpThreads: 1})
	if err := repo.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = repo.Close(context.Background()) })
	return New(repo, m, maxElements, log), reg
}

// adderRequest adds a=[1..4]+k and b=[10,20,30,40] for k in 0..n-1.
func adderRequest(version string, n int) *pb.ModelInferRequest {
	var a, b []float32
	for k := 0; k < n; k++ {
		a = append(a, 1+float32(k), 2+float32(k), 3+float32(k), 4+float32(k))
		b = append(b, 10, 20, 30, 40)
	}
	return &pb.ModelInferRequest{ModelName: "adder", ModelVersion: version, Inputs: []*pb.InferTensor{
		{Name: "a", Datatype: "FP32", Shape: []int64{int64(n), 4}, Raw: testutil.FP32(a...)},
		{Name: "b", Datatype: "FP32", Shape: []int64{int64(n), 4}, Raw: testutil.FP32(b...)},
	}}
}

func output(t *testing.T, resp *pb.ModelInferResponse, name string) *pb.InferTensor {
	t.Helper()
	for _, o := range resp.Outputs {
		if o.Name == name {
			return o
		}
	}
	t.Fatalf("no output %q in %v", name, resp.Outputs)
	return nil
}

// counter reads one counter series from reg (0 when absent).
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metric:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func histogram(t testing.TB, reg *prometheus.Registry, name string) (sum float64, count uint64) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				sum += m.GetHistogram().GetSampleSum()
				count += m.GetHistogram().GetSampleCount()
			}
		}
	}
	return sum, count
}

// socketConn serves impl over a unix socket with gRPC and the sidecar's
// flow-control settings, and returns a client connection to it (with
// dialOpts).
func socketConn(tb testing.TB, impl pb.InferenceServer, dialOpts ...grpc.DialOption) (*grpc.ClientConn, *grpc.Server) {
	tb.Helper()
	sock := filepath.Join(tb.TempDir(), "s.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		tb.Fatal(err)
	}
	window := int32(math.MaxInt32)
	gs := grpc.NewServer(grpc.InitialWindowSize(window), grpc.InitialConnWindowSize(window))
	pb.RegisterInferenceServer(gs, impl)
	go gs.Serve(lis)
	tb.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("unix:"+sock, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(window), grpc.WithInitialConnWindowSize(window)}, dialOpts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn, gs
}

// queueForever makes the adder's batches wait an hour for company, so a
// lone request stays queued until its context ends.
func queueForever(t *testing.T, s *Server) {
	t.Helper()
	testmodels.WriteFile(t, filepath.Join(s.repo.Dir(), "adder", "config.yaml"), `max_batch_size: 8
dynamic_batching:
  max_queue_delay: 1h
version_policy: {latest: 1}
`)
	if _, err := s.LoadModel(context.Background(), &pb.LoadModelRequest{Name: "adder"}); err != nil {
		t.Fatal(err)
	}
}
