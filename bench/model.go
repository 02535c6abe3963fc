package bench

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Model is the benchmark's text-classifier-sized ONNX model: one INT64 token
// input of shape [batch, SeqLen] and one FP32 output of shape [batch, Classes].
type Model struct {
	Path    string
	Input   string
	Output  string
	SeqLen  int
	Classes int
	Vocab   int
}

// Tokens returns batch*SeqLen random token ids below Vocab as raw
// little-endian INT64 bytes, as the wire carries them.
func (m Model) Tokens(rng *rand.Rand, batch int) []byte {
	raw := make([]byte, 0, 8*batch*m.SeqLen)
	for range batch * m.SeqLen {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(2+rng.IntN(m.Vocab-2)))
	}
	return raw
}

// Variant is one model folder of a benchmark repository.
type Variant struct {
	Name         string
	MaxBatchSize int
	// Batching, when set, turns the dynamic batcher on with these settings.
	Batching *Batching
}

// Batching is the dynamic_batching section of a config.yaml; an empty
// MaxQueueDelay leaves it out (the sidecar's default: a batch goes as soon as
// an instance is free, with whatever queued meanwhile).
type Batching struct {
	MaxQueueDelay  string
	PreferredSizes []int
}

// WriteRepository lays out a model repository under dir with one folder per
// variant, each serving m as version 1 with its checksum.
func WriteRepository(dir string, m Model, variants []Variant) error {
	onnx, err := os.ReadFile(m.Path)
	if err != nil {
		return fmt.Errorf("reading the benchmark model: %w", err)
	}
	sum := sha256.Sum256(onnx)
	for _, v := range variants {
		vdir := filepath.Join(dir, v.Name, "1")
		if err := os.MkdirAll(vdir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(vdir, "model.onnx"), onnx, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(vdir, "model.onnx.sha256"), []byte(hex.EncodeToString(sum[:])+"  model.onnx\n"), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, v.Name, "config.yaml"), []byte(v.config(m)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (v Variant) config(m Model) string {
	var b strings.Builder
	fmt.Fprintf(&b, "platform: onnxruntime_onnx\nmax_batch_size: %d\n", v.MaxBatchSize)
	fmt.Fprintf(&b, "inputs:\n  - name: %s\n    datatype: INT64\n    dims: [%d]\n", m.Input, m.SeqLen)
	fmt.Fprintf(&b, "outputs:\n  - name: %s\n    datatype: FP32\n    dims: [%d]\n", m.Output, m.Classes)
	if v.Batching != nil {
		b.WriteString("dynamic_batching:\n  max_queue_size: 4096\n")
		if v.Batching.MaxQueueDelay != "" {
			fmt.Fprintf(&b, "  max_queue_delay: %s\n", v.Batching.MaxQueueDelay)
		}
		if len(v.Batching.PreferredSizes) > 0 {
			fmt.Fprintf(&b, "  preferred_batch_sizes: %s\n", intList(v.Batching.PreferredSizes))
		}
	}
	// No count: the sidecar chooses instances and threads, as for the shipped model.
	b.WriteString("instance_group:\n  execution_providers: [cpu]\n")
	return b.String()
}

func intList(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
