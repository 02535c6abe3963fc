package server

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/sidecar/internal/testmodels"
)

// BenchmarkModelInfer is the sidecar's own cost per request, in process:
// validation, the batcher (batching off: no queue delay), one ONNX Runtime
// run of the adder, the answer.
func BenchmarkModelInfer(b *testing.B) {
	s, _ := newServer(b, 0, "adder")
	testmodels.WriteFile(b, filepath.Join(s.repo.Dir(), "adder", "config.yaml"), "max_batch_size: 8\n")
	ctx := context.Background()
	if _, err := s.LoadModel(ctx, &pb.LoadModelRequest{Name: "adder"}); err != nil {
		b.Fatal(err)
	}
	req := adderRequest("3", 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ModelInfer(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
