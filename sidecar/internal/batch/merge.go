package batch

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/modelgate/modelgate/shared/tensor"
)

// merge concatenates the requests' inputs along the batch dim, padding the
// inputs named in PadValues to the batch's longest extent in each other dim,
// then appends rows-items zero rows (empty strings for BYTES) to reach a
// bucket size. Requests in one batch share a key, so their inputs line up
// by index.
func (b *Batcher) merge(batch []*request, items, rows int) ([]tensor.Tensor, error) {
	first := batch[0]
	merged := make([]tensor.Tensor, len(first.inputs))
	for i, t0 := range first.inputs {
		shape := slices.Clone(t0.Shape)
		shape[0] = int64(rows)
		padded := false
		for _, r := range batch[1:] {
			for axis, d := range r.inputs[i].Shape[1:] {
				if d != shape[axis+1] {
					padded = true
					shape[axis+1] = max(shape[axis+1], d)
				}
			}
		}
		var raw []byte
		if padded {
			var err error
			if raw, err = b.mergePadded(batch, i, shape, items); err != nil {
				return nil, err
			}
		} else {
			perRow, err := tensor.ElementCount(shape[1:], 0)
			if err != nil {
				return nil, fmt.Errorf("%w: input %q: %w", ErrInvalidInput, t0.Name, err)
			}
			elem := t0.DataType.Size()
			if t0.DataType == tensor.Bytes {
				elem = 4 // an empty string is its zero length prefix
			}
			size := 0
			for _, r := range batch {
				size += len(r.inputs[i].Raw)
			}
			// BYTES concatenate as they are: the 4-byte length prefixes travel
			// with their elements. The padding rows stay zero.
			raw = make([]byte, size+(rows-items)*int(perRow)*elem)
			offset := 0
			for _, r := range batch {
				offset += copy(raw[offset:], r.inputs[i].Raw)
			}
		}
		merged[i] = tensor.Tensor{Name: t0.Name, DataType: t0.DataType, Shape: shape, Raw: raw}
	}
	return merged, nil
}

// mergePadded lays input i of every request into a buffer of shape, its
// first items rows pre-filled with the input's pad value and the rest (bucket
// padding) zero.
func (b *Batcher) mergePadded(batch []*request, i int, shape []int64, items int) ([]byte, error) {
	t0 := batch[0].inputs[i]
	elem := t0.DataType.Size()
	pad, err := padBytes(t0.DataType, b.cfg.PadValues[t0.Name])
	if err != nil {
		return nil, fmt.Errorf("%w: input %q: %w", ErrInvalidInput, t0.Name, err)
	}
	// Checked before the allocation: form keeps items rows of this shape
	// within the cap; bucket rows add at most what the operator's preferred
	// sizes allow.
	perRow, err := tensor.ElementCount(shape[1:], b.maxPadded())
	if err == nil && perRow*int64(items) > b.maxPadded() {
		err = fmt.Errorf("padded to %v it would hold %d elements, over the cap of %d", shape[1:], perRow*int64(items), b.maxPadded())
	}
	if err != nil {
		return nil, fmt.Errorf("%w: input %q: %w", ErrInvalidInput, t0.Name, err)
	}
	n := perRow * shape[0]
	raw := make([]byte, int(n)*elem)
	rowBytes := len(raw) / int(shape[0])
	fill(raw[:items*rowBytes], pad)
	offset := 0
	for _, r := range batch {
		t := r.inputs[i]
		dst := slices.Clone(shape)
		dst[0] = t.Shape[0]
		copyPadded(raw[offset*rowBytes:], dst, t.Raw, t.Shape, elem)
		offset += int(t.Shape[0])
	}
	return raw, nil
}

// copyPadded copies the row-major tensor src (shape srcDims) into the corner
// of the row-major dst (shape dstDims, at least as large in every dim).
func copyPadded(dst []byte, dstDims []int64, src []byte, srcDims []int64, elem int) {
	if len(srcDims) == 1 {
		copy(dst, src[:int(srcDims[0])*elem])
		return
	}
	dstStride, srcStride := elem, elem
	for _, d := range dstDims[1:] {
		dstStride *= int(d)
	}
	for _, d := range srcDims[1:] {
		srcStride *= int(d)
	}
	for k := 0; k < int(srcDims[0]); k++ {
		copyPadded(dst[k*dstStride:], dstDims[1:], src[k*srcStride:], srcDims[1:], elem)
	}
}

// fill repeats pattern over buf (left as is when the pattern is all zero).
func fill(buf, pattern []byte) {
	if len(buf) == 0 || !slices.ContainsFunc(pattern, func(c byte) bool { return c != 0 }) {
		return
	}
	n := copy(buf, pattern)
	for n < len(buf) {
		n += copy(buf[n:], buf[:n])
	}
}

// padBytes encodes a pad value as one little-endian element of d.
func padBytes(d tensor.DataType, v float64) ([]byte, error) {
	b := make([]byte, d.Size())
	switch d {
	case tensor.FP32:
		binary.LittleEndian.PutUint32(b, math.Float32bits(float32(v)))
	case tensor.FP64:
		binary.LittleEndian.PutUint64(b, math.Float64bits(v))
	case tensor.FP16:
		binary.LittleEndian.PutUint16(b, float16Bits(float32(v)))
	case tensor.Bool:
		if v != 0 {
			b[0] = 1
		}
	case tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64:
		var x [8]byte
		binary.LittleEndian.PutUint64(x[:], uint64(int64(v)))
		copy(b, x[:])
	case tensor.UInt8, tensor.UInt16, tensor.UInt32, tensor.UInt64:
		var x [8]byte
		binary.LittleEndian.PutUint64(x[:], uint64(v))
		copy(b, x[:])
	default:
		return nil, fmt.Errorf("%s cannot be padded", d)
	}
	return b, nil
}

// float16Bits converts f to IEEE 754 half precision, rounding to nearest even.
func float16Bits(f float32) uint16 {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int((bits>>23)&0xff) - 127 + 15
	mant := bits & 0x7fffff
	switch {
	case (bits>>23)&0xff == 0xff: // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp >= 0x1f: // overflow
		return sign | 0x7c00
	case exp <= 0: // subnormal or zero
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		half := mant >> shift
		rem := mant & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || (rem == mid && half&1 == 1) {
			half++
		}
		return sign | uint16(half)
	}
	half := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++ // may carry into the exponent, which is still right
	}
	return sign | uint16(half)
}

// split cuts every output along the batch dim into one part per request;
// rows beyond the requests' own (bucket padding) are dropped. The parts
// share the outputs' memory, each capped at its own end.
func split(outs []tensor.Tensor, batch []*request, rows int) ([][]tensor.Tensor, error) {
	parts := make([][]tensor.Tensor, len(batch))
	for i := range parts {
		parts[i] = make([]tensor.Tensor, len(outs))
	}
	for j, o := range outs {
		if len(o.Shape) == 0 || o.Shape[0] != int64(rows) {
			return nil, fmt.Errorf("batch: output %q has shape %v, want %d rows, one per batched item or padding row", o.Name, o.Shape, rows)
		}
		starts, err := rowStarts(o, rows)
		if err != nil {
			return nil, err
		}
		row := 0
		for i, r := range batch {
			shape := slices.Clone(o.Shape)
			shape[0] = int64(r.items)
			lo, hi := starts[row], starts[row+r.items]
			parts[i][j] = tensor.Tensor{Name: o.Name, DataType: o.DataType, Shape: shape, Raw: o.Raw[lo:hi:hi]}
			row += r.items
		}
	}
	return parts, nil
}

// rowStarts returns the byte offset of each of o's rows, plus its end.
func rowStarts(o tensor.Tensor, items int) ([]int, error) {
	perRow, err := tensor.ElementCount(o.Shape[1:], 0)
	if err != nil {
		return nil, fmt.Errorf("batch: output %q: %w", o.Name, err)
	}
	starts := make([]int, items+1)
	if o.DataType != tensor.Bytes {
		rowBytes := int(perRow) * o.DataType.Size()
		if len(o.Raw) != rowBytes*items {
			return nil, fmt.Errorf("batch: output %q: %d bytes for shape %v", o.Name, len(o.Raw), o.Shape)
		}
		for k := range starts {
			starts[k] = k * rowBytes
		}
		return starts, nil
	}
	pos := 0
	for k := 0; k < items; k++ {
		starts[k] = pos
		for e := int64(0); e < perRow; e++ {
			if pos+4 > len(o.Raw) {
				return nil, fmt.Errorf("batch: output %q: BYTES data ends early", o.Name)
			}
			pos += 4 + int(binary.LittleEndian.Uint32(o.Raw[pos:]))
		}
	}
	if pos != len(o.Raw) {
		return nil, fmt.Errorf("batch: output %q: BYTES data does not match shape %v", o.Name, o.Shape)
	}
	starts[items] = pos
	return starts, nil
}
