package repository

import (
	"fmt"
	"slices"

	"github.com/modelgate/modelgate/shared/tensor"
	"github.com/modelgate/modelgate/sidecar/internal/config"
	"github.com/modelgate/modelgate/sidecar/internal/ort"
	"github.com/modelgate/modelgate/sidecar/internal/textproc"
)

// TensorSpec is a tensor as clients see it: the full shape, batch dim
// included (-1) when the model batches, -1 for any size.
type TensorSpec struct {
	Name     string
	DataType tensor.DataType
	Shape    []int64
}

// spec is what the check step derives from config.yaml and the ONNX file.
type spec struct {
	// modelInputs and modelOutputs are the ONNX names and full shapes.
	modelInputs, modelOutputs []TensorSpec
	// inputs and outputs are the public ones (text instead of tokens,
	// probabilities and label added).
	inputs, outputs []TensorSpec
}

// buildSpec checks the config against the model's declared inputs and
// outputs and derives the shapes served.
func buildSpec(cfg *config.Config, in, out []ort.IOInfo) (*spec, error) {
	s := &spec{}
	var err error
	if s.modelInputs, err = merge("input", cfg, cfg.Inputs, in); err != nil {
		return nil, err
	}
	if s.modelOutputs, err = merge("output", cfg, cfg.Outputs, out); err != nil {
		return nil, err
	}
	s.inputs = slices.Clone(s.modelInputs)
	s.outputs = slices.Clone(s.modelOutputs)
	if t := cfg.Preprocess.Text; t != nil {
		i := slices.IndexFunc(s.inputs, func(x TensorSpec) bool { return x.Name == t.Target })
		if i < 0 {
			return nil, fmt.Errorf("preprocess.text.target %q is not a model input", t.Target)
		}
		target := s.inputs[i]
		if target.DataType != tensor.Int64 && target.DataType != tensor.Int32 {
			return nil, fmt.Errorf("preprocess.text.target %q is %s; token ids must be INT64 or INT32", t.Target, target.DataType)
		}
		if len(target.Shape) != 2 || (target.Shape[1] != -1 && target.Shape[1] != int64(t.MaxLength)) {
			return nil, fmt.Errorf("preprocess.text.target %q has shape %v; the tokenizer fills [batch, %d]", t.Target, target.Shape, t.MaxLength)
		}
		s.modelInputs[i].Shape = []int64{target.Shape[0], int64(t.MaxLength)}
		s.inputs[i] = TensorSpec{Name: t.Input, DataType: tensor.Bytes, Shape: []int64{-1}}
	}
	if c := cfg.Postprocess.Classify; c != nil {
		i := slices.IndexFunc(s.modelOutputs, func(x TensorSpec) bool { return x.Name == c.Output })
		if i < 0 {
			return nil, fmt.Errorf("postprocess.classify.output %q is not a model output", c.Output)
		}
		scores := s.modelOutputs[i]
		if scores.DataType != tensor.FP32 && scores.DataType != tensor.FP64 {
			return nil, fmt.Errorf("postprocess.classify.output %q is %s; scores must be FP32 or FP64", c.Output, scores.DataType)
		}
		n := int64(len(c.Labels))
		if len(scores.Shape) == 0 || (scores.Shape[len(scores.Shape)-1] != -1 && scores.Shape[len(scores.Shape)-1] != n) {
			return nil, fmt.Errorf("postprocess.classify.output %q has shape %v; its last dim must be the %d labels", c.Output, scores.Shape, n)
		}
		lead := scores.Shape[:len(scores.Shape)-1]
		s.outputs = append(s.outputs,
			TensorSpec{Name: textproc.ProbabilitiesOutput, DataType: tensor.FP32, Shape: append(slices.Clone(lead), n)},
			TensorSpec{Name: textproc.LabelOutput, DataType: tensor.Bytes, Shape: slices.Clone(lead)})
	}
	return s, nil
}

// merge matches config entries (optional) with the model's declarations.
// With max_batch_size > 0 the model's first dim must be dynamic and config
// dims leave it out, as in Triton.
func merge(kind string, cfg *config.Config, listed []config.Tensor, declared []ort.IOInfo) ([]TensorSpec, error) {
	batched := cfg.MaxBatchSize > 0
	byName := map[string]config.Tensor{}
	for _, t := range listed {
		byName[t.Name] = t
	}
	var out []TensorSpec
	for _, d := range declared {
		shape := slices.Clone(d.Dims)
		if batched {
			if len(shape) == 0 || shape[0] != -1 {
				return nil, fmt.Errorf("model %s %q has shape %v: max_batch_size %d needs a dynamic first (batch) dimension", kind, d.Name, d.Dims, cfg.MaxBatchSize)
			}
			shape[0] = -1
		}
		c, ok := byName[d.Name]
		if !ok && len(listed) > 0 {
			return nil, fmt.Errorf("model %s %q is not listed in config.yaml %ss", kind, d.Name, kind)
		}
		if ok {
			delete(byName, d.Name)
			if tensor.DataType(c.DataType) != d.DataType {
				return nil, fmt.Errorf("config.yaml says %s %q is %s, the model says %s", kind, d.Name, c.DataType, d.DataType)
			}
			inner := shape
			if batched {
				inner = shape[1:]
			}
			if len(c.Dims) != len(inner) {
				return nil, fmt.Errorf("config.yaml dims %v of %s %q do not match the model's %v (batch dim left out when max_batch_size > 0)", c.Dims, kind, d.Name, inner)
			}
			for i, cd := range c.Dims {
				switch {
				case inner[i] == -1:
					inner[i] = cd
				case cd != -1 && cd != inner[i]:
					return nil, fmt.Errorf("config.yaml dims %v of %s %q do not match the model's %v", c.Dims, kind, d.Name, inner)
				}
			}
		}
		out = append(out, TensorSpec{Name: d.Name, DataType: d.DataType, Shape: shape})
	}
	for name := range byName {
		return nil, fmt.Errorf("config.yaml lists %s %q, which the model does not have", kind, name)
	}
	return out, nil
}
