package jsontensor

import (
	"errors"
	"testing"

	"github.com/modelgate/modelgate/shared/tensor"
)

// TestCheckDataSizeBounds: the smallest data that can hold a count passes
// the size check, one byte less does not.
func TestCheckDataSizeBounds(t *testing.T) {
	for _, tt := range []struct {
		dt   tensor.DataType
		data string
		n    int64
	}{
		{tensor.FP32, `7`, 1}, {tensor.FP32, `[1,2,3]`, 3}, {tensor.Bytes, `["","",""]`, 3},
		{tensor.Bool, `[true,true]`, 2}, {tensor.Int8, `[[1,2],[3,4]]`, 4},
	} {
		if _, err := ParseData(tt.dt, []byte(tt.data), tt.n); err != nil {
			t.Errorf("%s %s as %d elements: %v", tt.dt, tt.data, tt.n, err)
		}
	}
	for _, tt := range []struct {
		dt   tensor.DataType
		data string
		n    int64
	}{
		{tensor.Bytes, `["",""]`, 4}, {tensor.FP32, `[1]`, 3}, {tensor.Bool, `[1]`, 3}, {tensor.Int64, `1`, 2},
	} {
		if err := CheckDataSize(tt.dt, []byte(tt.data), tt.n); !errors.Is(err, tensor.ErrShape) {
			t.Errorf("%s %s held %d elements: %v", tt.dt, tt.data, tt.n, err)
		}
	}
}
