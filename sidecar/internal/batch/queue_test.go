package batch

import (
	"slices"
	"testing"
)

// The queue keeps arrival order through pops, requests put back at its
// head, and the compaction that reuses its backing array.
func TestQueueOrder(t *testing.T) {
	reqs := make([]*request, 40)
	for i := range reqs {
		reqs[i] = &request{items: i}
	}
	var q queue
	var want, got []int
	next := 0
	push := func(n int) {
		for range n {
			q.push(reqs[next])
			want = append(want, next)
			next++
		}
	}
	pop := func(n int) []*request {
		var out []*request
		for range n {
			r := q.pop()
			if r == nil {
				t.Fatalf("pop from a queue of %d: nil", q.len())
			}
			out = append(out, r)
		}
		return out
	}
	push(5)
	taken := pop(3)
	q.pushFront(taken[1:]...) // a batch that took 3 keeps 1, gives 2 back
	got = append(got, taken[0].items)
	want = slices.DeleteFunc(want, func(i int) bool { return i == taken[0].items })
	q.pushFront()
	push(30) // grows past the first backing arrays, compacting on the way
	for q.len() > 0 {
		got = append(got, q.pop().items)
	}
	if q.pop() != nil {
		t.Error("pop from an empty queue returned a request")
	}
	push(3)
	q.pushFront(pop(1)...)
	for q.len() > 0 {
		got = append(got, q.pop().items)
	}
	if !slices.Equal(got, append([]int{0}, want...)) {
		t.Errorf("order %v, want %v", got, append([]int{0}, want...))
	}
}
