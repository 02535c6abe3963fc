package repository

import (
	"path/filepath"
	"testing"

	"github.com/modelgate/modelgate/sidecar/internal/config"
	"github.com/modelgate/modelgate/sidecar/internal/testmodels"
)

// Batch-size buckets default to on for the provider the sessions got when it
// is a GPU one, and an explicit pad_to_preferred wins.
func TestBatchConfigPadToPreferred(t *testing.T) {
	for _, c := range []struct {
		yaml     string
		provider string
		want     bool
	}{
		{"max_batch_size: 8\ndynamic_batching:\n  preferred_batch_sizes: [4, 8]\n", "cuda", true},
		{"max_batch_size: 8\ndynamic_batching:\n  preferred_batch_sizes: [4, 8]\n", "tensorrt", true},
		{"max_batch_size: 8\ndynamic_batching:\n  preferred_batch_sizes: [4, 8]\n", "cpu", false},
		{"max_batch_size: 8\ndynamic_batching: {}\n", "cuda", false},
		{"max_batch_size: 8\ndynamic_batching:\n  preferred_batch_sizes: [4]\n  pad_to_preferred: true\n", "cpu", true},
		{"max_batch_size: 8\ndynamic_batching:\n  preferred_batch_sizes: [4]\n  pad_to_preferred: false\n", "cuda", false},
		{"max_batch_size: 8\n", "cuda", false},
	} {
		cfg, err := config.Parse("config.yaml", []byte(c.yaml))
		if err != nil {
			t.Fatal(err)
		}
		if got := batchConfig(cfg, c.provider).PadToPreferred; got != c.want {
			t.Errorf("%q on %s: PadToPreferred = %v, want %v", c.yaml, c.provider, got, c.want)
		}
	}
}

// A version whose batches are padded to buckets loads (the warm-up ran every
// bucket) and answers a lone request, padded to 4, with its own sum.
func TestPadToPreferredServes(t *testing.T) {
	dir := testmodels.Repo(t, "adder")
	testmodels.WriteFile(t, filepath.Join(dir, "adder", "config.yaml"),
		"max_batch_size: 8\ndynamic_batching:\n  max_queue_delay: 1ms\n  preferred_batch_sizes: [4, 8]\n  pad_to_preferred: true\n")
	r := open(t, dir)
	if v, sum, err := addSum(t, r, ""); err != nil || sum != 13 {
		t.Errorf("version %s: sum %v (%v), want 13", v, sum, err)
	}
}
