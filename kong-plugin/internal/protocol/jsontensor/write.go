package jsontensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
)

// appendFloat writes a float as JSON; NaN and ±Inf, which JSON cannot
// carry, become null.
func appendFloat(b []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

// AppendElements appends elements [from, to) of a raw tensor as a flat
// JSON array.
func AppendElements(b []byte, dt tensor.DataType, raw []byte, strs [][]byte, from, to int) []byte {
	le := binary.LittleEndian
	b = append(b, '[')
	for i := from; i < to; i++ {
		if i > from {
			b = append(b, ',')
		}
		switch dt {
		case tensor.Bool:
			b = strconv.AppendBool(b, raw[i] != 0)
		case tensor.UInt8:
			b = strconv.AppendUint(b, uint64(raw[i]), 10)
		case tensor.UInt16:
			b = strconv.AppendUint(b, uint64(le.Uint16(raw[2*i:])), 10)
		case tensor.UInt32:
			b = strconv.AppendUint(b, uint64(le.Uint32(raw[4*i:])), 10)
		case tensor.UInt64:
			b = strconv.AppendUint(b, le.Uint64(raw[8*i:]), 10)
		case tensor.Int8:
			b = strconv.AppendInt(b, int64(int8(raw[i])), 10)
		case tensor.Int16:
			b = strconv.AppendInt(b, int64(int16(le.Uint16(raw[2*i:]))), 10)
		case tensor.Int32:
			b = strconv.AppendInt(b, int64(int32(le.Uint32(raw[4*i:]))), 10)
		case tensor.Int64:
			b = strconv.AppendInt(b, int64(le.Uint64(raw[8*i:])), 10)
		case tensor.FP16:
			b = appendFloat(b, float64(tensor.HalfToFloat32(le.Uint16(raw[2*i:]))), 32)
		case tensor.FP32:
			b = appendFloat(b, float64(math.Float32frombits(le.Uint32(raw[4*i:]))), 32)
		case tensor.FP64:
			b = appendFloat(b, math.Float64frombits(le.Uint64(raw[8*i:])), 64)
		case tensor.Bytes:
			b = protocol.AppendJSONString(b, string(strs[i]))
		}
	}
	return append(b, ']')
}

// Output is a sidecar output checked against its own shape, ready to be
// written as JSON.
type Output struct {
	Name     string
	DataType tensor.DataType
	Shape    []int64
	Raw      []byte
	Strs     [][]byte // BYTES elements
	N        int      // elements
}

// CheckOutput validates an output from the sidecar: a mismatch here is
// the sidecar's bug, never the client's, so it is a 500.
func CheckOutput(t *pb.InferTensor) (Output, error) {
	dt, err := tensor.ParseDataType(t.GetDatatype())
	if err != nil {
		return Output{}, fmt.Errorf("sidecar output %q: %w", t.GetName(), err)
	}
	if err := tensor.CheckRaw(dt, t.GetShape(), t.GetRaw(), 0); err != nil {
		return Output{}, fmt.Errorf("sidecar output %q: %w", t.GetName(), err)
	}
	n, _ := tensor.ElementCount(t.GetShape(), 0)
	o := Output{Name: t.GetName(), DataType: dt, Shape: t.GetShape(), Raw: t.GetRaw(), N: int(n)}
	if dt == tensor.Bytes {
		o.Strs, _ = tensor.DecodeBytes(t.GetRaw(), n)
	}
	return o, nil
}
