package server

import (
	"context"
	"testing"
)

// TestORTCPUCounted checks that the sidecar's own measure of the CPU spent
// in ONNX Runtime runs (modelgate_sidecar_ort_cpu_seconds_total, which the
// benchmark reads) counts the runs requests cause and not the warm-up runs
// of loading.
func TestORTCPUCounted(t *testing.T) {
	s, reg := newServer(t, 0, "adder")
	labels := map[string]string{"model": "adder", "version": "2"}
	if got := counter(t, reg, "modelgate_sidecar_ort_cpu_seconds_total", labels); got != 0 {
		t.Fatalf("ort_cpu_seconds_total is %v before any request, want 0 (warm-up runs are not requests)", got)
	}
	for range 20 {
		if _, err := s.ModelInfer(context.Background(), adderRequest("2", 1)); err != nil {
			t.Fatal(err)
		}
	}
	if got := counter(t, reg, "modelgate_sidecar_ort_cpu_seconds_total", labels); got <= 0 {
		t.Errorf("ort_cpu_seconds_total is %v after 20 runs, want > 0", got)
	}
}
