package ort

import (
	"fmt"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/modelgate/modelgate/shared/tensor"
)

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

// bindSymbols maps each dim_param of the inputs to the size the request
// gives it. A name given two sizes is an error only if an FP16 output needs it.
func (s *Session) bindSymbols(ordered []tensor.Tensor) (map[string]int64, map[string]bool) {
	if !s.hasFP16 {
		return nil, nil
	}
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

// preallocate fills outVals[i] for every FP16 output.
func (s *Session) preallocate(outVals []onnx.Value, ordered []tensor.Tensor) error {
	if !s.hasFP16 {
		return nil
	}
	symbols, conflicting := s.bindSymbols(ordered)
	for i, decl := range s.outputs {
		if decl.DataType != tensor.FP16 {
			continue
		}
		shape := make([]int64, len(decl.Dims))
		for axis, d := range decl.Dims {
			if d >= 0 {
				shape[axis] = d
				continue
			}
			name := decl.dimParams[axis]
			size, ok := symbols[name]
			if !ok || conflicting[name] {
				return fmt.Errorf("%w: the inputs give dimension %q no single size, which FP16 output %q needs", ErrInvalidInput, name, decl.Name)
			}
			shape[axis] = size
		}
		buf, err := newOutputBuffer(decl.DataType, shape)
		if err != nil {
			return fmt.Errorf("ort: output %q: %w", decl.Name, err)
		}
		outVals[i] = buf
	}
	return nil
}
