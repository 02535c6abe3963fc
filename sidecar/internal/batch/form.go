package batch

import (
	"slices"
	"time"
)

// form takes the next batch off the queue for the calling drainer, whose
// runner is free and which has set forming; it clears it on return. The
// batch is empty when every queued request's caller had gone.
//
// The rule is Triton's: the batch grows in arrival order while the next
// request is compatible and fits in MaxBatchSize. When the queue has nothing
// more right now and the batch (or a prefix of it) is a preferred size, the
// largest such prefix goes at once; otherwise it waits for more until the
// oldest request has waited MaxQueueDelay, then goes as it is.
func (b *Batcher) form() []*request {
	defer b.formed()
	var first *request
	for first == nil {
		r := b.take()
		if r == nil {
			return nil
		}
		if !b.dropIfDone(r) {
			first = r
		}
	}
	batch := []*request{first}
	if first.solo {
		return batch
	}
	size := first.items
	extent := b.newPadExtent(first)
	deadline := first.enqueued.Add(b.cfg.MaxQueueDelay)
	for size < b.cfg.MaxBatchSize {
		r := b.take()
		if r == nil {
			if n := b.preferredPrefix(batch); n > 0 {
				b.hold(batch[n:]...)
				return batch[:n]
			}
			if r = b.takeBefore(deadline); r == nil {
				break
			}
		}
		if b.dropIfDone(r) {
			continue
		}
		if r.solo || r.key != first.key || size+r.items > b.cfg.MaxBatchSize || !b.fits(&extent, r, size+r.items) {
			b.hold(r)
			break
		}
		batch = append(batch, r)
		size += r.items
	}
	return batch
}

// take returns the oldest queued request, nil if none waits.
func (b *Batcher) take() *request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.queue.pop()
}

// takeBefore waits for the next request until deadline; nil if none came,
// or at once once the batcher is closing (the queue is drained without
// waiting for company).
func (b *Batcher) takeBefore(deadline time.Time) *request {
	wait := time.Until(deadline)
	if wait <= 0 {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-b.arrived:
			if r := b.take(); r != nil {
				return r
			}
		case <-timer.C:
			return nil
		case <-b.stop:
			return nil
		}
	}
}

// hold puts requests back at the head of the line, in order.
func (b *Batcher) hold(rs ...*request) {
	if len(rs) > 0 {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.queue.pushFront(rs...)
	}
}

// dropIfDone answers a request whose caller has gone (its context ended
// while it was queued) with the context's error, so it never runs.
func (b *Batcher) dropIfDone(r *request) bool {
	if err := r.ctx.Err(); err != nil {
		r.finish(nil, err)
		return true
	}
	return false
}

// preferredPrefix is the length of the longest prefix of batch whose items
// add up to a preferred batch size, 0 if none does.
func (b *Batcher) preferredPrefix(batch []*request) int {
	if len(b.preferred) == 0 {
		return 0
	}
	best, sum := 0, 0
	for i, r := range batch {
		sum += r.items
		if b.isPreferred(sum) {
			best = i + 1
		}
	}
	return best
}

// isPreferred reports whether items is a preferred batch size.
func (b *Batcher) isPreferred(items int) bool {
	_, ok := slices.BinarySearch(b.preferred, items)
	return ok
}

// preferredSizes keeps the usable preferred sizes, sorted.
func preferredSizes(sizes []int, maxBatch int) []int {
	var out []int
	for _, s := range sizes {
		if s > 0 && s <= maxBatch && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}
