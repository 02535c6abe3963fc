package jsontensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/shared/tensor"
)

func le16(v ...uint16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return b
}

func le32(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

func le64(v ...uint64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, x)
	}
	return b
}

func TestParseDataEveryDatatype(t *testing.T) {
	f32 := func(f float32) uint32 { return math.Float32bits(f) }
	f64 := func(f float64) uint64 { return math.Float64bits(f) }
	tests := []struct {
		dt   tensor.DataType
		data string
		n    int64
		want []byte
	}{
		{tensor.Bool, `[true,false,true]`, 3, []byte{1, 0, 1}},
		{tensor.UInt8, `[0,255]`, 2, []byte{0, 255}},
		{tensor.UInt16, `[1,65535]`, 2, le16(1, 65535)},
		{tensor.UInt32, `[4294967295]`, 1, le32(4294967295)},
		{tensor.UInt64, `[18446744073709551615]`, 1, le64(18446744073709551615)},
		{tensor.Int8, `[-128,127]`, 2, []byte{0x80, 0x7f}},
		{tensor.Int16, `[-2]`, 1, le16(0xfffe)},
		{tensor.Int32, `[-1, 3.0, 1e2]`, 3, le32(0xffffffff, 3, 100)},
		{tensor.Int64, `[-9223372036854775808, 9223372036854775807]`, 2, le64(1<<63, 1<<63-1)},
		{tensor.FP16, `[1, -2, 0.5, 65504]`, 4, le16(0x3c00, 0xc000, 0x3800, 0x7bff)},
		{tensor.FP32, `[1.5, -0.25, 3e-3]`, 3, le32(f32(1.5), f32(-0.25), f32(3e-3))},
		{tensor.FP64, `[0.1, -1e300]`, 2, le64(f64(0.1), f64(-1e300))},
		{tensor.Bytes, `["a", "", "caf\u00e9 \"q\""]`, 3, tensor.EncodeBytes([][]byte{[]byte("a"), {}, []byte("café \"q\"")})},
		// Nested data is flattened row-major; a scalar is one element.
		{tensor.Int32, `[[1,2],[3,4]]`, 4, le32(1, 2, 3, 4)},
		{tensor.FP32, ` [ [ [1] ] , [ [2] ] ] `, 2, le32(f32(1), f32(2))},
		{tensor.Int64, `7`, 1, le64(7)},
		{tensor.Bytes, `[["x"],["y"]]`, 2, tensor.EncodeBytes([][]byte{[]byte("x"), []byte("y")})},
	}
	for _, tt := range tests {
		got, err := ParseData(tt.dt, []byte(tt.data), tt.n)
		if err != nil {
			t.Errorf("%s %s: %v", tt.dt, tt.data, err)
			continue
		}
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%s %s = %x, want %x", tt.dt, tt.data, got, tt.want)
		}
	}
}

func TestParseDataRejects(t *testing.T) {
	tests := []struct {
		dt   tensor.DataType
		data string
		n    int64
		want string
	}{
		{tensor.FP32, `[1,2,3]`, 2, "more than"},
		{tensor.FP32, `[1]`, 2, "needs 2 elements, data has 1"},
		{tensor.Int8, `[128]`, 1, "not an INT8"},
		{tensor.UInt8, `[-1]`, 1, "not a UINT8"},
		{tensor.Int32, `[1.5]`, 1, "not an INT32"},
		{tensor.Bool, `[1]`, 1, "not true or false"},
		{tensor.FP32, `["1"]`, 1, "is a string"},
		{tensor.Bytes, `[1]`, 1, "not a string"},
		{tensor.FP32, `[1e39]`, 1, "not a FP32"},
		{tensor.FP64, `[NaN]`, 1, "not a FP64"},
		{tensor.FP32, `[Infinity]`, 1, "not a FP32"},
		{tensor.FP32, `[null]`, 1, "not a FP32"},
		{tensor.FP32, `[1,]`, 2, "unexpected"},
		{tensor.FP32, `[1 2]`, 2, "unexpected"},
		{tensor.FP32, `[1`, 1, "ends early"},
		{tensor.FP32, `[1]]`, 1, "after the data"},
		{tensor.FP32, strings.Repeat("[", 40) + "1" + strings.Repeat("]", 40), 1, "nested more than"},
	}
	for _, tt := range tests {
		_, err := ParseData(tt.dt, []byte(tt.data), tt.n)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %s: error %v, want one containing %q", tt.dt, tt.data, err, tt.want)
		}
	}
	if _, err := ParseData(tensor.FP32, []byte(`[1]`), 2); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("count mismatch does not wrap tensor.ErrShape: %v", err)
	}
}
