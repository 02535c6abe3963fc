package batch

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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

// A request that finds a runner idle and nothing queued runs on its
// caller's goroutine: the runner sees the caller's OS thread (locked to it
// here, so no other goroutine can run there meanwhile). One that must wait
// for company (max_queue_delay, not a preferred size by itself) runs on a
// drainer's. Either way the answer is the unbatched one.
func TestIdleRunnerRunsOnTheCallersThread(t *testing.T) {
	ss := sessions(t, "adder", 1, 1)
	cases := []struct {
		name   string
		cfg    Config
		inline bool
	}{
		{"batching off", Config{MaxBatchSize: 8}, true},
		{"no delay", Config{MaxBatchSize: 8, Enabled: true}, true},
		{"no delay, padded to a bucket", Config{MaxBatchSize: 8, Enabled: true, PreferredBatchSizes: []int{4}, PadToPreferred: true}, true},
		{"delay, a preferred size alone", Config{MaxBatchSize: 8, Enabled: true, MaxQueueDelay: time.Hour, PreferredBatchSizes: []int{1, 4}}, true},
		{"delay", Config{MaxBatchSize: 8, Enabled: true, MaxQueueDelay: time.Millisecond}, false},
	}
	in := []tensor.Tensor{testutil.FP32Tensor("a", []int64{1, 4}, 1, 2, 3, 4), testutil.FP32Tensor("b", []int64{1, 4}, 10, 20, 30, 40)}
	want, err := ss[0].Run(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ranOn atomic.Int64
			r := runnerFunc(func(ctx context.Context, in []tensor.Tensor, out []string) ([]tensor.Tensor, error) {
				ranOn.Store(int64(unix.Gettid()))
				return ss[0].Run(ctx, in, out)
			})
			b := New(c.cfg, []Runner{r}, nil)
			defer closeBatcher(t, b)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			got, err := b.Infer(context.Background(), in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := equalOutputs(got, want); err != nil {
				t.Error(err)
			}
			if inline := ranOn.Load() == int64(unix.Gettid()); inline != c.inline {
				t.Errorf("ran on the caller's thread: %v, want %v", inline, c.inline)
			}
		})
	}
}

// Close waits for a request running on its caller's goroutine as for a
// queued one, and refuses new requests meanwhile.
func TestCloseWaitsForARunOnItsCallersGoroutine(t *testing.T) {
	ss := sessions(t, "adder", 1, 1)
	g := newGate(ss[0])
	b := New(Config{MaxBatchSize: 8, Enabled: true}, []Runner{g}, nil)
	in := []tensor.Tensor{testutil.FP32Tensor("a", []int64{1, 4}, 1, 2, 3, 4), testutil.FP32Tensor("b", []int64{1, 4}, 1, 2, 3, 4)}
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := b.Infer(context.Background(), in, nil); err != nil {
			t.Error(err)
		}
	})
	<-g.started
	short, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := b.Close(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with a run in progress and a short ctx: err = %v, want DeadlineExceeded", err)
	}
	if _, err := b.Infer(context.Background(), in, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Infer after Close: err = %v, want ErrClosed", err)
	}
	close(g.release)
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}
