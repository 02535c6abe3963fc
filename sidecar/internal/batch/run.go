package batch

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/modelgate/modelgate/shared/tensor"
)

// run runs one batch on runner and answers each of its requests.
func (b *Batcher) run(runner Runner, batch []*request) {
	// The last chance to drop a request whose caller has gone before compute.
	live := batch[:0]
	for _, r := range batch {
		if !b.dropIfDone(r) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	start := time.Now()
	wait := start.Sub(live[0].enqueued)
	items := 0
	for _, r := range live {
		items += r.items
	}
	rows := items
	if !live[0].solo {
		rows = b.bucket(items)
	}
	parts, err := b.runRows(runner, live, items, rows)
	// The Observer (and so the batch-size metric) gets the real item count,
	// not the padded one: padded rows are no one's work.
	observed := items
	if b.maxItems == 0 {
		observed = 1 // no batch dim: one request is one item
	}
	b.observe(observed, wait, time.Since(start))
	if err == nil {
		for i, r := range live {
			r.finish(parts[i], nil)
		}
		return
	}
	if len(live) == 1 || errors.Is(err, ErrInvalidInput) {
		for _, r := range live {
			r.finish(nil, err)
		}
		return
	}
	// One bad request (say a token id out of range) must not fail the
	// requests it happened to share a batch with: run each alone (still
	// padded to its bucket).
	for _, r := range live {
		if !b.dropIfDone(r) {
			parts, err := b.runRows(runner, []*request{r}, r.items, b.bucket(r.items))
			if err != nil {
				r.finish(nil, err)
			} else {
				r.finish(parts[0], nil)
			}
		}
	}
}

// runRows runs reqs as one batch of rows rows, items of them theirs and the
// rest padding, and returns each request's outputs. A merge failure wraps
// ErrInvalidInput.
func (b *Batcher) runRows(runner Runner, reqs []*request, items, rows int) ([][]tensor.Tensor, error) {
	if len(reqs) == 1 && rows == items {
		r := reqs[0]
		outs, err := runner.Run(r.ctx, r.inputs, r.outputs)
		return [][]tensor.Tensor{outs}, err
	}
	inputs, err := b.merge(reqs, items, rows)
	if err != nil {
		return nil, err
	}
	// A merged run serves callers with different deadlines; a caller that
	// gives up does not cancel it for the others. A lone padded request's
	// run is its caller's alone.
	ctx := context.Background()
	if len(reqs) == 1 {
		ctx = reqs[0].ctx
	}
	outs, err := runner.Run(ctx, inputs, reqs[0].outputs)
	if err != nil {
		return nil, err
	}
	return split(outs, reqs, rows)
}

// bucket is the number of rows a batch of items runs as: with
// PadToPreferred, the smallest preferred batch size that holds it; else, and
// for a batch larger than every preferred size (or an empty one), items.
func (b *Batcher) bucket(items int) int {
	if !b.cfg.PadToPreferred || items == 0 {
		return items
	}
	i, _ := slices.BinarySearch(b.preferred, items)
	if i == len(b.preferred) {
		return items
	}
	return b.preferred[i]
}

func (b *Batcher) observe(items int, wait, compute time.Duration) {
	if b.obs != nil {
		b.obs.Observe(items, wait, compute)
	}
}
