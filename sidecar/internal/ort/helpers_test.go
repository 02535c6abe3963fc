package ort

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared/tensor"
)

func initORT(t testing.TB) {
	t.Helper()
	if err := Init(testutil.ORTLib(t)); err != nil {
		t.Fatal(err)
	}
}

func modelBytes(t testing.TB, model string, version int) []byte {
	t.Helper()
	path := filepath.Join(testutil.RepoRoot(), "sidecar", "testdata", "models", model, strconv.Itoa(version), "model.onnx")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openSession(t testing.TB, model string, version int, opts Options) *Session {
	t.Helper()
	initORT(t)
	s, err := NewSession(modelBytes(t, model, version), opts, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("NewSession(%s/%d): %v", model, version, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func fp32Tensor(name string, shape []int64, vals ...float32) tensor.Tensor {
	raw := make([]byte, 0, 4*len(vals))
	for _, v := range vals {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	return tensor.Tensor{Name: name, DataType: tensor.FP32, Shape: shape, Raw: raw}
}

func fp32Values(t testing.TB, tt tensor.Tensor) []float32 {
	t.Helper()
	if tt.DataType != tensor.FP32 || len(tt.Raw)%4 != 0 {
		t.Fatalf("%s: not FP32 data: %s, %d bytes", tt.Name, tt.DataType, len(tt.Raw))
	}
	out := make([]float32, len(tt.Raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(tt.Raw[4*i:]))
	}
	return out
}

func int64Tensor(name string, shape []int64, vals ...int64) tensor.Tensor {
	raw := make([]byte, 0, 8*len(vals))
	for _, v := range vals {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
	}
	return tensor.Tensor{Name: name, DataType: tensor.Int64, Shape: shape, Raw: raw}
}

// logBuffer is a slog handler target that tests can read while sessions log.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
