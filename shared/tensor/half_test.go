package tensor

import (
	"math"
	"testing"
)

func TestHalfRoundTrip(t *testing.T) {
	for _, f := range []float32{0, 1, -1, 0.5, 65504, 6.1035156e-05, 5.9604645e-08, float32(math.Inf(1)), float32(math.Inf(-1))} {
		if got := HalfToFloat32(Float32ToHalf(f)); got != f {
			t.Errorf("%v -> %v", f, got)
		}
	}
	if h := Float32ToHalf(1e6); h != 0x7c00 {
		t.Errorf("overflow gives %x, want +Inf", h)
	}
	if got := HalfToFloat32(Float32ToHalf(float32(math.NaN()))); !math.IsNaN(float64(got)) {
		t.Errorf("NaN -> %v", got)
	}
	// 1 + 2^-11 is halfway between two halves: rounds to even (1.0).
	if h := Float32ToHalf(1 + 1.0/2048); h != 0x3c00 {
		t.Errorf("tie rounds to %x, want 3c00", h)
	}
}
