package ort

import (
	"fmt"
	"slices"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/modelgate/modelgate/shared/tensor"
)

// Outputs whose shape is known before the run are preallocated in Go memory
// (see preallocate); FP16 outputs must be.
//
// onnxruntime_go cannot return an FP16 output that ONNX Runtime allocated:
// it copies one byte per element of a type Go has no name for, and the
// resulting tensor is refused as too small. So FP16 outputs are preallocated,
// which needs their shape before the run: every dim must be static or named
// by a dim_param that some input also uses ("batch", "n"). NewSession refuses
// a model with an FP16 output it could not size.

// checkFP16Outputs returns an error for the first FP16 output whose shape
// cannot be derived from the inputs' shapes.
func checkFP16Outputs(inputs, outputs []ioDecl) error {
	known := map[string]bool{}
	for _, in := range inputs {
		for _, p := range in.dimParams {
			if p != "" {
				known[p] = true
			}
		}
	}
	for _, out := range outputs {
		if out.DataType != tensor.FP16 {
			continue
		}
		for axis, d := range out.Dims {
			if d < 0 && !known[out.dimParams[axis]] {
				return fmt.Errorf("ort: FP16 output %q has dimension %d that is neither fixed nor named after an input dimension; modelgate must know an FP16 output's shape before the run", out.Name, axis)
			}
		}
	}
	return nil
}

// sizable reports whether an output's shape is known before the run: every
// dim static or named by a dim_param that some input also uses.
func sizable(out ioDecl, inputs []ioDecl) bool {
	if out.DataType == tensor.Bytes {
		return false // a string tensor has no buffer to hand ONNX Runtime
	}
	for axis, d := range out.Dims {
		if d >= 0 {
			continue
		}
		named := false
		for _, in := range inputs {
			named = named || (out.dimParams[axis] != "" && slices.Contains(in.dimParams, out.dimParams[axis]))
		}
		if !named {
			return false
		}
	}
	return true
}

// bindSymbols maps each dim_param of the inputs to the size the request
// gives it. A name given two sizes is an error only if an FP16 output needs
// it; other outputs are then left to ONNX Runtime to allocate.
func (s *Session) bindSymbols(ordered []tensor.Tensor) (map[string]int64, map[string]bool) {
	symbols := map[string]int64{}
	conflicting := map[string]bool{}
	for i, decl := range s.inputs {
		for axis, name := range decl.dimParams {
			if name == "" {
				continue
			}
			size := ordered[i].Shape[axis]
			if old, ok := symbols[name]; ok && old != size {
				conflicting[name] = true
			}
			symbols[name] = size
		}
	}
	return symbols, conflicting
}

// preallocates reports whether Run hands ONNX Runtime some output buffers;
// optional says whether outputs other than FP16 ones may be preallocated.
func (s *Session) preallocates(optional bool) bool {
	return s.hasFP16 || (optional && s.sizable != nil)
}

// preallocate fills outVals[i] for every FP16 output and, if optional,
// every other output whose shape is known before the
// run (see sizable). ONNX Runtime then writes into Go memory that the
// answer can use as is, instead of allocating an output that onnxruntime_go
// queries (type, shape, data: several cgo calls) and copies into Go memory.
// It reports whether it filled any output other than an FP16 one.
func (s *Session) preallocate(outVals []onnx.Value, ordered []tensor.Tensor, optional bool) (bool, error) {
	if !s.preallocates(optional) {
		return false, nil
	}
	symbols, conflicting := s.bindSymbols(ordered)
	filled := false
	for i, decl := range s.outputs {
		fp16 := decl.DataType == tensor.FP16
		if !fp16 && !(optional && s.sizable[i]) {
			continue
		}
		shape := make([]int64, len(decl.Dims))
		known := true
		for axis, d := range decl.Dims {
			if d >= 0 {
				shape[axis] = d
				continue
			}
			name := decl.dimParams[axis]
			size, ok := symbols[name]
			if !ok || conflicting[name] {
				if fp16 {
					return filled, fmt.Errorf("%w: the inputs give dimension %q no single size, which FP16 output %q needs", ErrInvalidInput, name, decl.Name)
				}
				known = false
				break
			}
			shape[axis] = size
		}
		if !known {
			continue
		}
		buf, err := newOutputBuffer(decl.DataType, shape)
		if err != nil {
			return filled, fmt.Errorf("ort: output %q: %w", decl.Name, err)
		}
		outVals[i] = buf
		filled = filled || !fp16
	}
	return filled, nil
}
