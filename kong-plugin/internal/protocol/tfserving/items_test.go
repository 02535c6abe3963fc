package tfserving

import (
	"encoding/json"
	"testing"

	"github.com/modelgate/modelgate/shared/pb"
)

func TestUnbatchedItems(t *testing.T) {
	meta := &pb.ModelMetadataResponse{Inputs: []*pb.TensorMetadata{
		{Name: "a", Datatype: "FP32", Shape: []int64{-1, 4}},
		{Name: "b", Datatype: "FP32", Shape: []int64{-1, 4}},
	}}
	one := &pb.ModelMetadataResponse{Inputs: []*pb.TensorMetadata{{Name: "x", Datatype: "FP32", Shape: []int64{1, -1}}}}
	for _, tt := range []struct {
		name     string
		meta     *pb.ModelMetadataResponse
		instance string
		want     int
	}{
		{"named inputs, 2 rows", meta, `{"a":[[1,2,3,4],[5,6,7,8]],"b":[[1,2,3,4],[5,6,7,8]]}`, 2},
		{"the larger input counts", meta, `{"a":[[1,2,3,4]],"b":[[1,2,3,4],[1,2,3,4],[1,2,3,4]]}`, 3},
		{"one input, positions", one, `[[1,2,3,4,5,6,7]]`, 7},
		{"text", one, `"a sentence"`, 1},
		{"malformed", meta, `{"a":[[1,2,`, 1},
	} {
		if got := unbatchedItems(tt.meta, json.RawMessage(tt.instance)); got != tt.want {
			t.Errorf("%s: %d items, want %d", tt.name, got, tt.want)
		}
	}
}
