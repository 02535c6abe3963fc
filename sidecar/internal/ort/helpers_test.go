package ort

import (
	"bytes"
	"log/slog"
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
	path := filepath.Join(testutil.TestModels(), model, strconv.Itoa(version), "model.onnx")
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

func fp32Values(t testing.TB, tt tensor.Tensor) []float32 {
	t.Helper()
	if tt.DataType != tensor.FP32 || len(tt.Raw)%4 != 0 {
		t.Fatalf("%s: not FP32 data: %s, %d bytes", tt.Name, tt.DataType, len(tt.Raw))
	}
	return testutil.Float32s(tt.Raw)
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
