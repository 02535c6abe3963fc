package server

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
	"github.com/modelgate/modelgate/sidecar/internal/repository"
)

// validate checks a request against the version's public inputs and
// outputs before anything is queued, and converts its tensors. Every error
// is an INVALID_ARGUMENT status that says what to change.
func validate(s *repository.Served, req *pb.ModelInferRequest, maxElements int64) ([]tensor.Tensor, error) {
	invalid := func(format string, args ...any) error {
		return status.Errorf(codes.InvalidArgument, format, args...)
	}
	inputs := make([]tensor.Tensor, 0, len(req.Inputs))
	seen := map[string]bool{}
	batch := int64(-1)
	batchFrom := ""
	for _, in := range req.Inputs {
		spec, ok := s.Input(in.Name)
		if !ok {
			return nil, invalid("unknown input %q; model %s version %s takes %s", in.Name, s.Model, s.Version, names(s.Inputs))
		}
		if seen[in.Name] {
			return nil, invalid("input %q is given twice", in.Name)
		}
		seen[in.Name] = true
		dt, err := tensor.ParseDataType(in.Datatype)
		if err != nil {
			return nil, invalid("input %q: %v", in.Name, err)
		}
		if dt != spec.DataType {
			return nil, invalid("input %q must be %s, got %s", in.Name, spec.DataType, dt)
		}
		if err := checkShape(spec, in.Shape, s.MaxBatchSize); err != nil {
			return nil, invalid("input %q: %v", in.Name, err)
		}
		if err := tensor.CheckRaw(dt, in.Shape, in.Raw, maxElements); err != nil {
			return nil, invalid("input %q: %v", in.Name, err)
		}
		if dt == tensor.Bytes && in.Name != s.TextInput() && bytes.IndexByte(in.Raw, 0) >= 0 {
			// ONNX Runtime string tensors are C strings. Checked here, because
			// in a batch one bad element would fail every request in it.
			if err := checkNoNUL(in.Raw, in.Shape); err != nil {
				return nil, invalid("input %q: %v", in.Name, err)
			}
		}
		if s.MaxBatchSize > 0 {
			switch {
			case batch < 0:
				batch, batchFrom = in.Shape[0], in.Name
			case in.Shape[0] != batch:
				return nil, invalid("input %q has batch size %d but input %q has %d; all inputs share the first (batch) dimension", in.Name, in.Shape[0], batchFrom, batch)
			}
		}
		inputs = append(inputs, tensor.Tensor{Name: in.Name, DataType: dt, Shape: in.Shape, Raw: in.Raw})
	}
	for _, spec := range s.Inputs {
		if !seen[spec.Name] {
			return nil, invalid("missing input %q (%s, shape %v); model %s version %s takes %s", spec.Name, spec.DataType, spec.Shape, s.Model, s.Version, names(s.Inputs))
		}
	}
	wanted := map[string]bool{}
	for _, name := range req.Outputs {
		if _, ok := s.Output(name); !ok {
			return nil, invalid("unknown output %q; model %s version %s has %s", name, s.Model, s.Version, names(s.Outputs))
		}
		if wanted[name] {
			return nil, invalid("output %q is requested twice", name)
		}
		wanted[name] = true
	}
	return inputs, nil
}

func checkNoNUL(raw []byte, shape []int64) error {
	n, _ := tensor.ElementCount(shape, 0)
	elems, err := tensor.DecodeBytes(raw, n)
	if err != nil {
		return err
	}
	for i, e := range elems {
		if bytes.IndexByte(e, 0) >= 0 {
			return fmt.Errorf("BYTES element %d contains a NUL byte, which ONNX Runtime string tensors cannot hold", i)
		}
	}
	return nil
}

// checkShape checks rank, static dims and the batch dim. A text input
// (public shape [-1]) also takes [batch, 1], as KServe clients send it.
func checkShape(spec repository.TensorSpec, shape []int64, maxBatch int) error {
	want := spec.Shape
	if spec.DataType == tensor.Bytes && len(want) == 1 && len(shape) == 2 && shape[1] == 1 {
		want = []int64{want[0], 1}
	}
	if len(shape) != len(want) {
		return fmt.Errorf("shape %v has %d dimensions, want %d (%v, -1 = any size)", shape, len(shape), len(want), spec.Shape)
	}
	for i, d := range shape {
		if d < 0 {
			return fmt.Errorf("dimension %d of shape %v is negative", i, shape)
		}
		if i == 0 && maxBatch > 0 {
			if d < 1 || d > int64(maxBatch) {
				return fmt.Errorf("batch size %d (first dimension) is outside 1..%d", d, maxBatch)
			}
			continue
		}
		if want[i] != -1 && d != want[i] {
			return fmt.Errorf("shape %v does not match %v (dimension %d must be %d)", shape, spec.Shape, i, want[i])
		}
	}
	return nil
}

func names(specs []repository.TensorSpec) string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = fmt.Sprintf("%s (%s %v)", s.Name, s.DataType, s.Shape)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
