package ort

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/modelgate/modelgate/shared/tensor"
)

// ErrInvalidInput is wrapped by Run's errors about the request itself
// (unknown, missing or duplicate names, wrong datatype, rank, dims or byte
// length); the server maps it to INVALID_ARGUMENT.
var ErrInvalidInput = errors.New("invalid inference input")

// Run runs the model on inputs (each model input exactly once, in any order)
// and returns the named outputs in the order asked, or all outputs in model
// order when outputs is empty. ctx cancels a run in progress through ONNX
// Runtime's terminate flag. Safe for concurrent use.
func (s *Session) Run(ctx context.Context, inputs []tensor.Tensor, outputs []string) ([]tensor.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	want, err := s.selectOutputs(outputs)
	if err != nil {
		return nil, err
	}
	ordered, err := s.orderInputs(inputs)
	if err != nil {
		return nil, err
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	inVals := make([]onnx.Value, len(ordered))
	defer destroyAll(inVals)
	for i, t := range ordered {
		if inVals[i], err = newInputValue(t); err != nil {
			return nil, fmt.Errorf("ort: %w", err)
		}
	}
	outVals := make([]onnx.Value, len(s.outputs))
	defer func() { destroyAll(outVals) }()
	optional := !s.autoOutputs.Load()
	preallocated, err := s.preallocate(outVals, ordered, optional)
	if err != nil {
		return nil, err
	}
	if err := s.runValues(ctx, inVals, outVals); err != nil {
		if !preallocated || ctx.Err() != nil || !outputShapeRefused(err) {
			return nil, err
		}
		// ONNX Runtime refuses an output buffer whose shape is not the one
		// it computes: a model whose outputs do not follow its dim_params.
		// Run again with ONNX Runtime's own buffers; if that works, stop
		// preallocating for this session. If not, the request was the
		// problem.
		destroyAll(outVals)
		clear(outVals)
		if _, perr := s.preallocate(outVals, ordered, false); perr != nil {
			return nil, perr
		}
		if s.runValues(ctx, inVals, outVals) != nil {
			return nil, err
		}
		if s.autoOutputs.CompareAndSwap(false, true) {
			s.log.Warn("ONNX Runtime refused preallocated outputs; letting it allocate them from now on", "error", err.Error())
		}
	}
	result := make([]tensor.Tensor, len(want))
	for i, idx := range want {
		if result[i], err = outputTensor(s.outputs[idx], outVals[idx]); err != nil {
			return nil, fmt.Errorf("ort: %w", err)
		}
	}
	return result, nil
}

// runValues runs the session once, turning ctx's cancellation into ONNX
// Runtime's terminate flag.
func (s *Session) runValues(ctx context.Context, inVals, outVals []onnx.Value) error {
	if s.guardFirstRun.Load() {
		gpuSetup.Lock()
		if s.guardFirstRun.Load() {
			saved := snapshotSignals()
			defer func() {
				if restored := restoreSignals(saved); len(restored) > 0 {
					s.log.Info("restored Go signal handlers replaced during a GPU session's first run", "signals", restored)
				}
				s.guardFirstRun.Store(false)
				gpuSetup.Unlock()
			}()
		} else {
			gpuSetup.Unlock()
		}
	}
	var opts *onnx.RunOptions
	if ctx.Done() != nil {
		var err error
		if opts, err = onnx.NewRunOptions(); err != nil {
			return fmt.Errorf("ort: run options: %w", err)
		}
		defer opts.Destroy()
		terminated := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			defer close(terminated)
			opts.Terminate()
		})
		defer func() {
			// If the terminate call has started, wait for it before opts is
			// destroyed.
			if !stop() {
				<-terminated
			}
		}()
	}
	if err := s.sess.RunWithOptions(inVals, outVals, opts); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("ort: run stopped: %w", ctxErr)
		}
		return fmt.Errorf("ort: run: %w", err)
	}
	return nil
}

// selectOutputs returns the indexes of the outputs asked for.
func (s *Session) selectOutputs(names []string) ([]int, error) {
	if len(names) == 0 {
		all := make([]int, len(s.outputs))
		for i := range all {
			all[i] = i
		}
		return all, nil
	}
	idx := make([]int, len(names))
	for i, name := range names {
		j, ok := s.outputIndex[name]
		if !ok {
			return nil, fmt.Errorf("%w: unknown output %q (the model has %v)", ErrInvalidInput, name, s.outputNames)
		}
		if slices.Contains(idx[:i], j) {
			return nil, fmt.Errorf("%w: output %q asked for twice", ErrInvalidInput, name)
		}
		idx[i] = j
	}
	return idx, nil
}

// orderInputs checks inputs against the model and puts them in its order.
func (s *Session) orderInputs(inputs []tensor.Tensor) ([]tensor.Tensor, error) {
	ordered := make([]tensor.Tensor, len(s.inputs))
	seen := make([]bool, len(s.inputs))
	for _, t := range inputs {
		i, ok := s.inputIndex[t.Name]
		if !ok {
			return nil, fmt.Errorf("%w: unknown input %q", ErrInvalidInput, t.Name)
		}
		if seen[i] {
			return nil, fmt.Errorf("%w: input %q given twice", ErrInvalidInput, t.Name)
		}
		if err := checkInput(s.inputs[i], t); err != nil {
			return nil, err
		}
		seen[i], ordered[i] = true, t
	}
	for i, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("%w: missing input %q", ErrInvalidInput, s.inputs[i].Name)
		}
	}
	return ordered, nil
}

func checkInput(decl ioDecl, t tensor.Tensor) error {
	if t.DataType != decl.DataType {
		return fmt.Errorf("%w: input %q is %s, got %s", ErrInvalidInput, t.Name, decl.DataType, t.DataType)
	}
	if len(t.Shape) != len(decl.Dims) {
		return fmt.Errorf("%w: input %q has rank %d (shape %v), got shape %v", ErrInvalidInput, t.Name, len(decl.Dims), decl.Dims, t.Shape)
	}
	for i, d := range decl.Dims {
		if d >= 0 && t.Shape[i] != d {
			return fmt.Errorf("%w: input %q has shape %v, got %v", ErrInvalidInput, t.Name, decl.Dims, t.Shape)
		}
	}
	if err := tensor.CheckRaw(t.DataType, t.Shape, t.Raw, 0); err != nil {
		return fmt.Errorf("%w: input %q: %w", ErrInvalidInput, t.Name, err)
	}
	return nil
}

// outputShapeRefused tells ONNX Runtime's refusal of a preallocated output
// whose shape is not the computed one (1.29: "The output OrtValue provided
// for output ... has shape {3} but the computed output shape for this run is
// {6}. When calling Run() with pre-allocated output OrtValues ..."; older
// releases: "Shape mismatch attempting to re-use buffer") from every other
// failure, which a second run would only repeat: a request that makes the
// model fail costs one run, not two.
func outputShapeRefused(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "pre-allocated output") || strings.Contains(msg, "attempting to re-use buffer")
}
