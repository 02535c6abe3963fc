package server

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
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

// BenchmarkModelInferText is one sentence of the bench's sentences
// workload as the gateway sends it (BYTES text), in process: validation,
// tokenizing, the batcher, one ONNX Runtime run, the classifier's labels
// and probabilities.
func BenchmarkModelInferText(b *testing.B) {
	s, _ := newServer(b, 0, "text_sentiment")
	ctx := context.Background()
	if _, err := s.LoadModel(ctx, &pb.LoadModelRequest{Name: "text_sentiment"}); err != nil {
		b.Fatal(err)
	}
	req := &pb.ModelInferRequest{ModelName: "text_sentiment", ModelVersion: "1", Inputs: []*pb.InferTensor{
		{Name: "text", Datatype: "BYTES", Shape: []int64{1}, Raw: tensor.EncodeBytes([][]byte{[]byte("a wonderful film with a moving story and great acting")})},
	}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ModelInfer(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkModelInferParallel is the same with 64 concurrent callers and
// dynamic batching on with the default (no max_queue_delay) and 2
// instances: the requests that queue while both instances run merge, so
// items/batch (the batch_size histogram's mean) shows how far batches grow
// under load.
func BenchmarkModelInferParallel(b *testing.B) {
	s, reg := newServer(b, 0, "adder")
	testmodels.WriteFile(b, filepath.Join(s.repo.Dir(), "adder", "config.yaml"),
		"max_batch_size: 8\ndynamic_batching: {max_queue_size: 256}\ninstance_group: {count: 2}\n")
	ctx := context.Background()
	if _, err := s.LoadModel(ctx, &pb.LoadModelRequest{Name: "adder"}); err != nil {
		b.Fatal(err)
	}
	req := adderRequest("3", 1)
	sum0, runs0 := histogram(b, reg, "modelgate_sidecar_batch_size")
	b.ReportAllocs()
	b.SetParallelism(32) // 64 callers on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.ModelInfer(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	sum, runs := histogram(b, reg, "modelgate_sidecar_batch_size")
	if runs > runs0 {
		b.ReportMetric((sum-sum0)/float64(runs-runs0), "items/batch")
	}
}
