package ort

import (
	"bytes"
	"fmt"
	"reflect"
	"unsafe"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/modelgate/modelgate/shared/tensor"
)

// newInputValue wraps t as an ONNX Runtime value. Numeric tensors share t.Raw
// with ONNX Runtime (no copy) unless it must be realigned or, for BOOL,
// normalised; BYTES become an ONNX string tensor. The caller destroys it.
func newInputValue(t tensor.Tensor) (onnx.Value, error) {
	// NewCustomDataTensor keeps its own copy of the shape.
	shape := onnx.Shape(t.Shape)
	if t.DataType == tensor.Bytes {
		return newStringValue(t, shape)
	}
	raw := t.Raw
	if t.DataType == tensor.Bool {
		raw = normalisedBools(raw)
	}
	raw = aligned(raw, t.DataType.Size())
	if len(raw) == 0 {
		// An empty tensor (a 0 dim) still needs a buffer to point at; ONNX
		// Runtime only checks that it is not too small.
		raw = make([]byte, 8)
	}
	v, err := onnx.NewCustomDataTensor(shape, raw, elemTypeOf(t.DataType))
	if err != nil {
		return nil, fmt.Errorf("input %q: %w", t.Name, err)
	}
	return v, nil
}

func newStringValue(t tensor.Tensor, shape onnx.Shape) (onnx.Value, error) {
	n, err := tensor.ElementCount(t.Shape, 0)
	if err != nil {
		return nil, fmt.Errorf("input %q: %w", t.Name, err)
	}
	elems, err := tensor.DecodeBytes(t.Raw, n)
	if err != nil {
		return nil, fmt.Errorf("input %q: %w", t.Name, err)
	}
	strs := make([]string, len(elems))
	for i, e := range elems {
		// ONNX Runtime fills string tensors from C strings, which end at the
		// first NUL: refuse rather than silently cut the element short.
		if bytes.IndexByte(e, 0) >= 0 {
			return nil, fmt.Errorf("%w: input %q: BYTES element %d contains a NUL byte, which ONNX Runtime string tensors cannot hold", ErrInvalidInput, t.Name, i)
		}
		strs[i] = string(e)
	}
	v, err := onnx.NewStringTensor(shape)
	if err != nil {
		return nil, fmt.Errorf("input %q: %w", t.Name, err)
	}
	if err := v.SetContents(strs); err != nil {
		v.Destroy()
		return nil, fmt.Errorf("input %q: %w", t.Name, err)
	}
	return v, nil
}

// normalisedBools returns raw with every non-zero byte as 1, copying only if
// needed: ONNX Runtime's bool is a C++ bool, for which other values are
// undefined.
func normalisedBools(raw []byte) []byte {
	for i, b := range raw {
		if b > 1 {
			out := make([]byte, len(raw))
			copy(out, raw[:i])
			for j := i; j < len(raw); j++ {
				if raw[j] != 0 {
					out[j] = 1
				}
			}
			return out
		}
	}
	return raw
}

// aligned returns raw, or a copy of it that starts on a multiple of size
// bytes: a tensor sliced out of a larger message may start anywhere, and ONNX
// Runtime's kernels read elements in place.
func aligned(raw []byte, size int) []byte {
	if len(raw) == 0 || size <= 1 || uintptr(unsafe.Pointer(unsafe.SliceData(raw)))%uintptr(size) == 0 {
		return raw
	}
	words := make([]uint64, (len(raw)+7)/8)
	out := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(raw))
	copy(out, raw)
	return out
}

// newOutputBuffer preallocates an output of a fixed shape. Used for FP16,
// which onnxruntime_go cannot auto-allocate correctly (it copies one byte per
// element of a custom-typed output).
func newOutputBuffer(dt tensor.DataType, shape []int64) (*onnx.CustomDataTensor, error) {
	n, err := tensor.ElementCount(shape, 0)
	if err != nil {
		return nil, err
	}
	// At least 8 bytes: an empty tensor still needs a buffer to point at.
	buf := make([]byte, max(int(n)*dt.Size(), 8))
	return onnx.NewCustomDataTensor(onnx.Shape(shape), buf, elemTypeOf(dt))
}

// outputTensor copies (or, for Go-backed data, views) an ONNX Runtime output
// into a tensor.Tensor of the declared datatype. The result does not refer to
// ONNX Runtime memory, so v may be destroyed afterwards.
func outputTensor(decl ioDecl, v onnx.Value) (tensor.Tensor, error) {
	shape := []int64(v.GetShape())
	out := tensor.Tensor{Name: decl.Name, DataType: decl.DataType, Shape: shape}
	var raw []byte
	var got tensor.DataType
	switch t := v.(type) {
	case *onnx.Tensor[float32]:
		raw, got = bytesOf(t.GetData()), tensor.FP32
	case *onnx.Tensor[float64]:
		raw, got = bytesOf(t.GetData()), tensor.FP64
	case *onnx.Tensor[int8]:
		raw, got = bytesOf(t.GetData()), tensor.Int8
	case *onnx.Tensor[int16]:
		raw, got = bytesOf(t.GetData()), tensor.Int16
	case *onnx.Tensor[int32]:
		raw, got = bytesOf(t.GetData()), tensor.Int32
	case *onnx.Tensor[int64]:
		raw, got = bytesOf(t.GetData()), tensor.Int64
	case *onnx.Tensor[uint8]:
		raw, got = bytesOf(t.GetData()), tensor.UInt8
	case *onnx.Tensor[uint16]:
		raw, got = bytesOf(t.GetData()), tensor.UInt16
	case *onnx.Tensor[uint32]:
		raw, got = bytesOf(t.GetData()), tensor.UInt32
	case *onnx.Tensor[uint64]:
		raw, got = bytesOf(t.GetData()), tensor.UInt64
	case *onnx.Tensor[bool]:
		raw, got = bytesOf(t.GetData()), tensor.Bool
	case *onnx.CustomDataTensor:
		dt, ok := onnxElemTypes[uint64(t.DataType())]
		if !ok {
			return out, fmt.Errorf("output %q: ONNX element type %d is not carried", decl.Name, t.DataType())
		}
		n, err := tensor.ElementCount(shape, 0)
		if err != nil {
			return out, fmt.Errorf("output %q: %w", decl.Name, err)
		}
		data := t.GetData()
		if want := int(n) * dt.Size(); len(data) >= want {
			raw = data[:want]
		} else {
			return out, fmt.Errorf("output %q: %s shape %v needs %d bytes, ONNX Runtime gave %d", decl.Name, dt, shape, want, len(data))
		}
		got = dt
	case *onnx.StringTensor:
		strs, err := t.GetContents()
		if err != nil {
			return out, fmt.Errorf("output %q: %w", decl.Name, err)
		}
		elems := make([][]byte, len(strs))
		for i, s := range strs {
			elems[i] = []byte(s)
		}
		raw, got = tensor.EncodeBytes(elems), tensor.Bytes
	default:
		return out, fmt.Errorf("output %q: unsupported ONNX Runtime value %T", decl.Name, v)
	}
	if got != decl.DataType {
		return out, fmt.Errorf("output %q: model declares %s, ONNX Runtime returned %s", decl.Name, decl.DataType, got)
	}
	out.Raw = raw
	return out, nil
}

// bytesOf views a Go-allocated slice as its little-endian bytes. The slices
// onnxruntime_go returns are Go memory that outlives the value's Destroy, so
// the view needs no copy.
func bytesOf[T any](s []T) []byte {
	if len(s) == 0 {
		return []byte{}
	}
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(zero)))
}

// destroyAll frees every value. onnxruntime_go may leave a typed nil in an
// output slot whose conversion failed, hence the reflection.
func destroyAll(vals []onnx.Value) {
	for _, v := range vals {
		if v != nil && !reflect.ValueOf(v).IsNil() {
			v.Destroy()
		}
	}
}
