package batch

import (
	"fmt"
	"slices"
)

// admit either hands r's caller an idle runner to run r on at once, or
// queues r. A request runs at once when a runner is idle, nothing is queued
// ahead of it, and it need not wait for company: it runs alone anyway, no
// MaxQueueDelay is set, or it is a preferred batch size by itself.
func (b *Batcher) admit(r *request) (Runner, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if b.queue.len() == 0 && len(b.idle) > 0 && (r.solo || b.cfg.MaxQueueDelay <= 0 || b.isPreferred(r.items)) {
		return b.claimLocked(), nil
	}
	if b.queue.len() >= b.maxQueue {
		return nil, fmt.Errorf("%w (%d requests waiting)", ErrQueueFull, b.maxQueue)
	}
	r.done = make(chan result, 1)
	b.queue.push(r)
	if b.forming {
		select {
		case b.arrived <- struct{}{}:
		default:
		}
	}
	b.kickLocked()
	return nil, nil
}

// runInline runs r alone on runner, on the calling goroutine, and gives the
// runner back (to the queue, if requests waited meanwhile), even if the run
// panics.
func (b *Batcher) runInline(runner Runner, r *request) {
	defer b.release(runner)
	b.run(runner, []*request{r})
}

// drain is a runner's goroutine while requests are queued: it forms a batch,
// runs it, and goes on while the queue has more and no one else is forming;
// then it gives the runner back. Whoever started it set forming.
func (b *Batcher) drain(runner Runner) {
	for {
		if batch := b.form(); len(batch) > 0 {
			b.run(runner, batch)
		}
		b.mu.Lock()
		if b.queue.len() > 0 && !b.forming {
			b.forming = true
			b.mu.Unlock()
			continue
		}
		b.releaseLocked(runner)
		b.mu.Unlock()
		return
	}
}

func (b *Batcher) release(runner Runner) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.releaseLocked(runner)
}

func (b *Batcher) releaseLocked(runner Runner) {
	b.busy--
	b.idle = append(b.idle, runner)
	b.kickLocked()
	b.doneIfIdleLocked()
}

// claimLocked takes an idle runner; the most recently used one, whose
// memory is likeliest to be in cache.
func (b *Batcher) claimLocked() Runner {
	last := len(b.idle) - 1
	runner := b.idle[last]
	b.idle[last] = nil
	b.idle = b.idle[:last]
	b.busy++
	return runner
}

// kickLocked sends an idle runner after the queue when requests wait and no
// drainer is forming a batch from them already.
func (b *Batcher) kickLocked() {
	if b.queue.len() > 0 && !b.forming && len(b.idle) > 0 {
		b.forming = true
		go b.drain(b.claimLocked())
	}
}

// formed ends a drainer's forming; the requests it left (a full batch, an
// incompatible one) may go to another idle runner.
func (b *Batcher) formed() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.forming = false
	b.kickLocked()
}

func (b *Batcher) doneIfIdleLocked() {
	if b.closed && b.busy == 0 && b.queue.len() == 0 {
		select {
		case <-b.done:
		default:
			close(b.done)
		}
	}
}

// queued is how many requests wait in the queue.
func (b *Batcher) queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.queue.len()
}

// queue holds the waiting requests, oldest first; its backing array is
// reused, so it grows only to the most requests that waited at once.
type queue struct {
	reqs []*request
	head int // reqs[:head] have left
}

func (q *queue) len() int { return len(q.reqs) - q.head }

func (q *queue) push(r *request) {
	if q.head > 0 && len(q.reqs) == cap(q.reqs) {
		n := copy(q.reqs, q.reqs[q.head:])
		clear(q.reqs[n:])
		q.reqs, q.head = q.reqs[:n], 0
	}
	q.reqs = append(q.reqs, r)
}

// pop takes the oldest request, nil if none waits.
func (q *queue) pop() *request {
	if q.len() == 0 {
		return nil
	}
	r := q.reqs[q.head]
	q.reqs[q.head] = nil
	q.head++
	if q.head == len(q.reqs) {
		q.reqs, q.head = q.reqs[:0], 0
	}
	return r
}

// pushFront puts rs back at the head of the line, in order.
func (q *queue) pushFront(rs ...*request) {
	if len(rs) <= q.head {
		q.head -= len(rs)
		copy(q.reqs[q.head:], rs)
		return
	}
	q.reqs = slices.Insert(q.reqs, q.head, rs...)
}
