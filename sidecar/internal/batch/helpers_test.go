package batch

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelgate/modelgate/shared/tensor"
	"github.com/modelgate/modelgate/sidecar/internal/ort"
	"github.com/modelgate/modelgate/sidecar/internal/testmodels"
)

// sessions opens n real ONNX Runtime sessions of a test model.
func sessions(t testing.TB, model string, version, n int) []*ort.Session {
	t.Helper()
	testmodels.InitORT(t)
	data := testmodels.ModelBytes(t, model, strconv.Itoa(version))
	out := make([]*ort.Session, n)
	for i := range out {
		s, err := ort.NewSession(data, ort.Options{IntraOpThreads: 1}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out
}

func runners(ss []*ort.Session) []Runner {
	out := make([]Runner, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// gate wraps a Runner: every call reports itself on started, then waits for
// release to be closed.
type gate struct {
	Runner
	started chan []tensor.Tensor
	release chan struct{}
}

func newGate(r Runner) *gate {
	return &gate{Runner: r, started: make(chan []tensor.Tensor, 1024), release: make(chan struct{})}
}

func (g *gate) Run(ctx context.Context, in []tensor.Tensor, out []string) ([]tensor.Tensor, error) {
	g.started <- in
	<-g.release
	return g.Runner.Run(ctx, in, out)
}

// plugged wraps a Runner whose first call waits for unplug, so a test can
// fill the queue behind it and force the later batches to merge.
type plugged struct {
	Runner
	once    sync.Once
	started chan struct{}
	unplug  chan struct{}
}

func newPlugged(r Runner) *plugged {
	return &plugged{Runner: r, started: make(chan struct{}), unplug: make(chan struct{})}
}

func (p *plugged) Run(ctx context.Context, in []tensor.Tensor, out []string) ([]tensor.Tensor, error) {
	p.once.Do(func() {
		close(p.started)
		<-p.unplug
	})
	return p.Runner.Run(ctx, in, out)
}

// runBehindPlug sends reqs[0] through b as a plug, waits until the runner
// holds it, starts every request in reqs, waits until all are queued, then
// unplugs, so the queued requests must merge; it returns each request's
// outputs and error once all have answered.
func runBehindPlug(t *testing.T, b *Batcher, p *plugged, reqs [][]tensor.Tensor) ([][]tensor.Tensor, []error) {
	t.Helper()
	got := make([][]tensor.Tensor, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := b.Infer(context.Background(), reqs[0], nil); err != nil {
			t.Errorf("plug: %v", err)
		}
	})
	<-p.started
	for i := range reqs {
		wg.Go(func() { got[i], errs[i] = b.Infer(context.Background(), reqs[i], nil) })
	}
	waitFor(t, "every request queued", func() bool { return b.queued() == len(reqs) })
	close(p.unplug)
	wg.Wait()
	return got, errs
}

// sameAsAlone checks that every request answered, and with what r gives
// for the request run alone: batching (and padding) must not change an
// answer.
func sameAsAlone(t *testing.T, r Runner, reqs, got [][]tensor.Tensor, errs []error) {
	t.Helper()
	for i := range reqs {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		want, err := r.Run(context.Background(), reqs[i], nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := equalOutputs(got[i], want); err != nil {
			t.Errorf("request %d (shape %v): batched differs from alone: %v", i, reqs[i][0].Shape, err)
		}
	}
}

// sizes records the batch sizes an Observer sees.
type sizes struct {
	mu  sync.Mutex
	all []int
	n   atomic.Int32
}

func (s *sizes) Observe(batchSize int, queueWait, compute time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, batchSize)
	s.n.Add(1)
}

func (s *sizes) get() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.all...)
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	// A generous bound that only turns a hang into a failure; never a speed check.
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func closeBatcher(t testing.TB, b *Batcher) {
	t.Helper()
	if err := b.Close(context.Background()); err != nil {
		t.Error(err)
	}
}

// recorder wraps a Runner and records the batch dim of every run's inputs
// (all of them: a run whose inputs disagree records -1); the wrapped runner
// still computes.
type recorder struct {
	Runner
	mu   sync.Mutex
	rows []int64
}

func (r *recorder) Run(ctx context.Context, in []tensor.Tensor, out []string) ([]tensor.Tensor, error) {
	n := int64(-1)
	for i, t := range in {
		if i == 0 {
			n = t.Shape[0]
		} else if t.Shape[0] != n {
			n = -1
		}
	}
	r.mu.Lock()
	r.rows = append(r.rows, n)
	r.mu.Unlock()
	return r.Runner.Run(ctx, in, out)
}

func (r *recorder) get() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.rows)
}
