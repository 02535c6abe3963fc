package jsontensor

import (
	"testing"

	"github.com/modelgate/modelgate/shared/pb"
)

func TestUnbatchedItems(t *testing.T) {
	model := []*pb.TensorMetadata{
		{Name: "rows", Shape: []int64{-1, 64}},
		{Name: "positions", Shape: []int64{1, -1}},
		{Name: "fixed", Shape: []int64{3, 224, 224}},
		{Name: "free", Shape: []int64{-1, -1}},
	}
	for _, tt := range []struct {
		name     string
		elements int64
		want     int64
	}{
		{"rows", 64, 1},
		{"rows", 10 * 64, 10},
		{"rows", 10*64 + 1, 11}, // a part of a row counts as one
		{"positions", 512, 512},
		{"fixed", 3 * 224 * 224, 1},
		{"free", 1000, 1000},
		{"rows", 0, 1}, // an empty tensor is still a request
		{"undeclared", 1 << 20, 1},
	} {
		if got := UnbatchedItems(model, tt.name, tt.elements); got != tt.want {
			t.Errorf("%s with %d elements: %d items, want %d", tt.name, tt.elements, got, tt.want)
		}
	}
}
