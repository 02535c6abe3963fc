package batch

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared/tensor"
)

// Without max_queue_delay (the default) a request runs at once on an idle
// runner, alone, even with preferred sizes it cannot reach; the requests
// that queue while it runs go as one batch when the runner is free again,
// up to max_batch_size, and each still gets its unbatched answer.
func TestNoDelayRunsAtOnceAndGrowsUnderLoad(t *testing.T) {
	ss := sessions(t, "adder", 1, 1)
	p := newPlugged(ss[0])
	obs := &sizes{}
	b := New(Config{MaxBatchSize: 8, Enabled: true, PreferredBatchSizes: []int{8}, MaxQueueSize: 64}, []Runner{p}, obs)
	defer closeBatcher(t, b)

	// A delay would keep this lone request from the runner until more came;
	// with none it reaches the runner (p.started) with nothing else queued.
	reqs := make([][]tensor.Tensor, 11)
	for i := range reqs {
		v := float32(i)
		reqs[i] = []tensor.Tensor{testutil.FP32Tensor("a", []int64{1, 4}, v, v+1, v+2, v+3), testutil.FP32Tensor("b", []int64{1, 4}, 1, 2, 3, v)}
	}
	got, errs := runBehindPlug(t, b, p, reqs)
	sameAsAlone(t, ss[0], reqs, got, errs)
	// The plug ran alone; the 11 queued behind it went as 8 (max_batch_size)
	// and then the 3 left, at once, though 3 is no preferred size.
	if all := obs.get(); !slices.Equal(all, []int{1, 8, 3}) {
		t.Errorf("batch sizes %v, want [1 8 3]", all)
	}
}

// With two runners and no delay, a request arriving while one runner is
// busy runs on the other at once instead of queueing behind the first.
func TestNoDelayUsesTheIdleRunner(t *testing.T) {
	ss := sessions(t, "adder", 1, 2)
	g0, g1 := newGate(ss[0]), newGate(ss[1])
	b := New(Config{MaxBatchSize: 8, Enabled: true, PreferredBatchSizes: []int{4, 8}}, []Runner{g0, g1}, nil)
	defer closeBatcher(t, b)
	in := []tensor.Tensor{testutil.FP32Tensor("a", []int64{1, 4}, 1, 2, 3, 4), testutil.FP32Tensor("b", []int64{1, 4}, 1, 2, 3, 4)}
	var wg sync.WaitGroup
	infer := func() {
		if _, err := b.Infer(context.Background(), in, nil); err != nil {
			t.Error(err)
		}
	}
	wg.Go(infer)
	var first, second *gate
	select {
	case <-g0.started:
		first, second = g0, g1
	case <-g1.started:
		first, second = g1, g0
	}
	wg.Go(infer)
	// Both runs are in flight together: the second never waited for the first.
	<-second.started
	close(first.release)
	close(second.release)
	wg.Wait()
}
