package batch

import (
	"context"
	"time"
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
	if len(live) == 1 {
		r := live[0]
		outs, err := runner.Run(r.ctx, r.inputs, r.outputs)
		items := r.items
		if b.maxItems == 0 {
			items = 1 // no batch dim: one request is one item
		}
		b.observe(items, wait, time.Since(start))
		r.finish(outs, err)
		return
	}
	items := 0
	for _, r := range live {
		items += r.items
	}
	inputs, err := b.merge(live, items)
	if err != nil {
		for _, r := range live {
			r.finish(nil, err)
		}
		return
	}
	// The merged run serves callers with different deadlines; a caller that
	// gives up does not cancel it for the others.
	outs, err := runner.Run(context.Background(), inputs, live[0].outputs)
	b.observe(items, wait, time.Since(start))
	if err == nil {
		if parts, err := split(outs, live, items); err == nil {
			for i, r := range live {
				r.finish(parts[i], nil)
			}
			return
		}
	}
	// One bad request (say a token id out of range) must not fail the
	// requests it happened to share a batch with: run each alone.
	for _, r := range live {
		if !b.dropIfDone(r) {
			outs, err := runner.Run(r.ctx, r.inputs, r.outputs)
			r.finish(outs, err)
		}
	}
}

func (b *Batcher) observe(items int, wait, compute time.Duration) {
	if b.obs != nil {
		b.obs.Observe(items, wait, compute)
	}
}
