// Package tensor holds the Open Inference Protocol datatypes and the checks
// both the gateway and the sidecar apply to a tensor's shape and raw bytes.
package tensor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// DataType is an Open Inference Protocol datatype name.
type DataType string

// The datatypes modelgate carries.
const (
	Bool   DataType = "BOOL"
	UInt8  DataType = "UINT8"
	UInt16 DataType = "UINT16"
	UInt32 DataType = "UINT32"
	UInt64 DataType = "UINT64"
	Int8   DataType = "INT8"
	Int16  DataType = "INT16"
	Int32  DataType = "INT32"
	Int64  DataType = "INT64"
	FP16   DataType = "FP16"
	FP32   DataType = "FP32"
	FP64   DataType = "FP64"
	Bytes  DataType = "BYTES"
)

var sizes = map[DataType]int{
	Bool: 1, UInt8: 1, UInt16: 2, UInt32: 4, UInt64: 8,
	Int8: 1, Int16: 2, Int32: 4, Int64: 8,
	FP16: 2, FP32: 4, FP64: 8, Bytes: 0,
}

// ParseDataType returns the datatype named s, or an error naming the known ones.
func ParseDataType(s string) (DataType, error) {
	d := DataType(s)
	if _, ok := sizes[d]; !ok {
		return "", fmt.Errorf("unknown datatype %q (want one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES)", s)
	}
	return d, nil
}

// Size is the byte size of one element; 0 for BYTES, whose elements vary.
func (d DataType) Size() int { return sizes[d] }

// ErrShape is wrapped by every shape and length error.
var ErrShape = errors.New("tensor shape")

// ElementCount multiplies the dims of shape, refusing negative dims and
// counts above max (max <= 0 means no limit beyond overflow).
func ElementCount(shape []int64, max int64) (int64, error) {
	n := int64(1)
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("%w: dimension %d is %d, want >= 0", ErrShape, i, d)
		}
		if d != 0 && n > math.MaxInt64/d {
			return 0, fmt.Errorf("%w: shape %v overflows", ErrShape, shape)
		}
		n *= d
		if max > 0 && n > max {
			return 0, fmt.Errorf("%w: shape %v has more than %d elements", ErrShape, shape, max)
		}
	}
	return n, nil
}

// CheckRaw checks that raw holds exactly the elements that shape asks for.
func CheckRaw(d DataType, shape []int64, raw []byte, maxElements int64) error {
	n, err := ElementCount(shape, maxElements)
	if err != nil {
		return err
	}
	if d == Bytes {
		_, err := DecodeBytes(raw, n)
		return err
	}
	if want := n * int64(d.Size()); int64(len(raw)) != want {
		return fmt.Errorf("%w: %s shape %v needs %d bytes, got %d", ErrShape, d, shape, want, len(raw))
	}
	return nil
}

// EncodeBytes packs BYTES elements as Triton does: each a 4-byte
// little-endian length, then its bytes.
func EncodeBytes(elems [][]byte) []byte {
	size := 0
	for _, e := range elems {
		size += 4 + len(e)
	}
	out := make([]byte, 0, size)
	for _, e := range elems {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(e)))
		out = append(out, e...)
	}
	return out
}

// DecodeBytes unpacks exactly n BYTES elements from raw; the elements alias raw.
func DecodeBytes(raw []byte, n int64) ([][]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: BYTES tensor of %d elements", ErrShape, n)
	}
	if n > int64(len(raw))/4 {
		return nil, fmt.Errorf("%w: BYTES tensor of %d elements needs at least %d bytes, got %d", ErrShape, n, 4*n, len(raw))
	}
	elems := make([][]byte, 0, n)
	for i := int64(0); i < n; i++ {
		if len(raw) < 4 {
			return nil, fmt.Errorf("%w: BYTES element %d has no length prefix", ErrShape, i)
		}
		l := binary.LittleEndian.Uint32(raw)
		raw = raw[4:]
		if uint64(l) > uint64(len(raw)) {
			return nil, fmt.Errorf("%w: BYTES element %d claims %d bytes, %d left", ErrShape, i, l, len(raw))
		}
		elems = append(elems, raw[:l])
		raw = raw[l:]
	}
	if len(raw) != 0 {
		return nil, fmt.Errorf("%w: %d bytes left after %d BYTES elements", ErrShape, len(raw), n)
	}
	return elems, nil
}

// Tensor is one named tensor with its elements as raw little-endian bytes,
// laid out as pb.InferTensor carries them.
type Tensor struct {
	Name     string
	DataType DataType
	Shape    []int64
	Raw      []byte
}
