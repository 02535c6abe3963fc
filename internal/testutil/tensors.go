package testutil

import (
	"encoding/binary"
	"math"

	"github.com/modelgate/modelgate/shared/tensor"
)

// FP32 is the raw little-endian bytes of FP32 tensor data, as the wire and
// ONNX Runtime hold them.
func FP32(vals ...float32) []byte {
	b := make([]byte, 0, 4*len(vals))
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// Float32s decodes raw little-endian FP32 data; a trailing partial value is
// ignored (callers that care check the length).
func Float32s(raw []byte) []float32 {
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

// FP32Tensor is an FP32 tensor holding vals.
func FP32Tensor(name string, shape []int64, vals ...float32) tensor.Tensor {
	return tensor.Tensor{Name: name, DataType: tensor.FP32, Shape: shape, Raw: FP32(vals...)}
}

// Int64Tensor is an INT64 tensor holding vals.
func Int64Tensor(name string, shape []int64, vals ...int64) tensor.Tensor {
	raw := make([]byte, 0, 8*len(vals))
	for _, v := range vals {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
	}
	return tensor.Tensor{Name: name, DataType: tensor.Int64, Shape: shape, Raw: raw}
}
