package gateway

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
)

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			q, _ := json.Marshal(s) // rare: escapes or non-ASCII
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendFloat writes a float as JSON; NaN and ±Inf, which JSON cannot
// carry, become null.
func appendFloat(b []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

// appendElements appends elements [from, to) of a raw tensor as a flat
// JSON array.
func appendElements(b []byte, dt tensor.DataType, raw []byte, strs [][]byte, from, to int) []byte {
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
			b = appendFloat(b, float64(halfToFloat32(le.Uint16(raw[2*i:]))), 32)
		case tensor.FP32:
			b = appendFloat(b, float64(math.Float32frombits(le.Uint32(raw[4*i:]))), 32)
		case tensor.FP64:
			b = appendFloat(b, math.Float64frombits(le.Uint64(raw[8*i:])), 64)
		case tensor.Bytes:
			b = appendJSONString(b, string(strs[i]))
		}
	}
	return append(b, ']')
}

// outputTensor is a sidecar output checked against its own shape, ready to
// be written as JSON.
type outputTensor struct {
	name  string
	dt    tensor.DataType
	shape []int64
	raw   []byte
	strs  [][]byte // BYTES elements
	n     int
}

// checkOutput validates an output from the sidecar: a mismatch here is
// the sidecar's bug, never the client's, so it is a 500.
func checkOutput(t *pb.InferTensor) (outputTensor, error) {
	dt, err := tensor.ParseDataType(t.GetDatatype())
	if err != nil {
		return outputTensor{}, fmt.Errorf("sidecar output %q: %w", t.GetName(), err)
	}
	if err := tensor.CheckRaw(dt, t.GetShape(), t.GetRaw(), 0); err != nil {
		return outputTensor{}, fmt.Errorf("sidecar output %q: %w", t.GetName(), err)
	}
	n, _ := tensor.ElementCount(t.GetShape(), 0)
	o := outputTensor{name: t.GetName(), dt: dt, shape: t.GetShape(), raw: t.GetRaw(), n: int(n)}
	if dt == tensor.Bytes {
		o.strs, _ = tensor.DecodeBytes(t.GetRaw(), n)
	}
	return o, nil
}

// appendOIPOutput writes one output as the Open Inference Protocol does:
// name, datatype, shape and the elements flat.
func appendOIPOutput(b []byte, o outputTensor) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, o.name)
	b = append(b, `,"datatype":"`...)
	b = append(b, o.dt...)
	b = append(b, `","shape":[`...)
	for i, d := range o.shape {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, d, 10)
	}
	b = append(b, `],"data":`...)
	b = appendElements(b, o.dt, o.raw, o.strs, 0, o.n)
	return append(b, '}')
}

// appendNested writes elements [from, from+prod(shape)) nested by shape,
// as TF Serving's predictions are.
func appendNested(b []byte, o outputTensor, shape []int64, from int) []byte {
	if len(shape) == 0 {
		// A scalar: write the element alone.
		arr := appendElements(nil, o.dt, o.raw, o.strs, from, from+1)
		return append(b, arr[1:len(arr)-1]...)
	}
	if len(shape) == 1 {
		return appendElements(b, o.dt, o.raw, o.strs, from, from+int(shape[0]))
	}
	inner := 1
	for _, d := range shape[1:] {
		inner *= int(d)
	}
	b = append(b, '[')
	for i := 0; i < int(shape[0]); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendNested(b, o, shape[1:], from+i*inner)
	}
	return append(b, ']')
}
