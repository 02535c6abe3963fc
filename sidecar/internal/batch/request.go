package batch

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/shared/tensor"
)

// request is one Infer call, queued or running.
type request struct {
	ctx      context.Context
	inputs   []tensor.Tensor // sorted by name when merging
	outputs  []string
	items    int    // size of the batch dim; 0 without one
	key      string // requests with equal keys may share a batch
	solo     bool   // runs alone, as is
	enqueued time.Time
	// done is set when the request queues, buffered: the drainer never
	// waits for the caller. A request that runs on its caller's goroutine
	// has none and its answer is res.
	done chan result
	res  result
}

type result struct {
	outputs []tensor.Tensor
	err     error
}

func (r *request) finish(outputs []tensor.Tensor, err error) {
	if r.done == nil {
		r.res = result{outputs, err}
		return
	}
	r.done <- result{outputs, err}
}

// newRequest checks what batching relies on (a common batch dim within
// MaxBatchSize, consistent byte lengths) and computes the merge key. Checks
// of names, datatypes and dims against the model are the runner's.
func (b *Batcher) newRequest(ctx context.Context, inputs []tensor.Tensor, outputs []string) (*request, error) {
	r := &request{ctx: ctx, inputs: inputs, outputs: outputs, solo: !b.merging}
	if b.maxItems > 0 {
		items, err := b.batchDim(inputs)
		if err != nil {
			return nil, err
		}
		r.items = items
		r.solo = r.solo || items == 0
	}
	if r.solo {
		r.enqueued = time.Now()
		return r, nil
	}
	byName := func(a, b tensor.Tensor) int { return strings.Compare(a.Name, b.Name) }
	if !slices.IsSortedFunc(inputs, byName) {
		r.inputs = slices.Clone(inputs)
		slices.SortFunc(r.inputs, byName)
	}
	key := make([]byte, 0, 64)
	for i, t := range r.inputs {
		if i > 0 && t.Name == r.inputs[i-1].Name {
			return nil, fmt.Errorf("%w: input %q given twice", ErrInvalidInput, t.Name)
		}
		if err := tensor.CheckRaw(t.DataType, t.Shape, t.Raw, 0); err != nil {
			return nil, fmt.Errorf("%w: input %q: %w", ErrInvalidInput, t.Name, err)
		}
		key = append(key, t.Name...)
		key = append(key, 0)
		key = append(key, t.DataType...)
		key = append(key, ':')
		if _, pad := b.cfg.PadValues[t.Name]; pad && t.DataType != tensor.Bytes {
			// Any extent may join: the batch pads to its longest.
			key = strconv.AppendInt(key, int64(len(t.Shape)), 10)
		} else {
			for _, d := range t.Shape[1:] {
				key = strconv.AppendInt(key, d, 10)
				key = append(key, ',')
			}
		}
		key = append(key, 0)
	}
	key = append(key, 1)
	for _, o := range outputs {
		key = append(key, o...)
		key = append(key, 0)
	}
	r.key = string(key)
	r.enqueued = time.Now()
	return r, nil
}

// batchDim returns the common size of every input's first dim.
func (b *Batcher) batchDim(inputs []tensor.Tensor) (int, error) {
	if len(inputs) == 0 {
		return 0, fmt.Errorf("%w: no inputs", ErrInvalidInput)
	}
	items := int64(-1)
	for _, t := range inputs {
		if len(t.Shape) == 0 {
			return 0, fmt.Errorf("%w: input %q has no batch dimension (shape [])", ErrInvalidInput, t.Name)
		}
		if items >= 0 && t.Shape[0] != items {
			return 0, fmt.Errorf("%w: inputs disagree on the batch size: %q has %d, another %d", ErrInvalidInput, t.Name, t.Shape[0], items)
		}
		items = t.Shape[0]
	}
	if items < 0 || items > int64(b.maxItems) {
		return 0, fmt.Errorf("%w: batch size %d, the model takes 0 to %d", ErrInvalidInput, items, b.maxItems)
	}
	return int(items), nil
}
