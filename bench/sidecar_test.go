package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/bench/load"
	"github.com/modelgate/modelgate/internal/testutil"
)

// tinyModel is the sidecar's small test classifier, standing in for the
// benchmark model so the plumbing is tested in seconds.
func tinyModel() Model {
	return Model{
		Path:  filepath.Join(testutil.RepoRoot(), "sidecar", "testdata", "models", "tiny_classifier", "1", "model.onnx"),
		Input: "tokens", Output: "logits", SeqLen: 8, Classes: 2, Vocab: 50,
	}
}

// TestSidecarServesTheBenchRepository writes a benchmark repository, starts
// the real sidecar on it over a socket and drives both variants with the
// load generator: the configs the benchmark writes must be ones the sidecar
// accepts, and the requests ones it answers.
func TestSidecarServesTheBenchRepository(t *testing.T) {
	m := tinyModel()
	dir := t.TempDir()
	repo := filepath.Join(dir, "models")
	err := WriteRepository(repo, m, []Variant{
		{Name: "plain", MaxBatchSize: 16},
		{Name: "batched", MaxBatchSize: 16, Batching: &Batching{MaxQueueDelay: "1ms", PreferredSizes: []int{4, 16}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(repo, "batched", "config.yaml"))
	if err != nil || !strings.Contains(string(cfg), "preferred_batch_sizes: [4, 16]") {
		t.Fatalf("batched config.yaml: %v\n%s", err, cfg)
	}
	var log strings.Builder
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	w := &syncWriter{b: &log}
	sc, err := StartSidecar(ctx, testutil.Binary(t, "modelgate-sidecar"), testutil.ORTLib(t), repo, dir, w)
	if err != nil {
		t.Fatalf("%v\nsidecar log:\n%s", err, w.String())
	}
	defer sc.Stop()
	for _, c := range []struct {
		model          string
		clients, batch int
	}{{"plain", 1, 1}, {"plain", 4, 3}, {"batched", 8, 1}} {
		r := load.Closed{Clients: c.clients, Count: 40, Timeout: 30 * time.Second}.Run(ctx, InferFunc(sc.Client, c.model, m, c.batch, 1))
		if r.Requests != 40 || r.ErrorCount() != 0 || r.Items != int64(40*c.batch) {
			t.Fatalf("%s, %d clients, batch %d: %d requests, %d items, errors %v", c.model, c.clients, c.batch, r.Requests, r.Items, r.Errors)
		}
	}
	// A request for a model the repository lacks fails with its gRPC code as its kind.
	r := load.Closed{Clients: 1, Count: 1}.Run(ctx, InferFunc(sc.Client, "missing", m, 1, 1))
	if r.Errors["grpc_NotFound"] != 1 {
		t.Fatalf("unknown model: errors %v, want one grpc_NotFound", r.Errors)
	}
}
