package batch

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared/tensor"
)

// elementsSeen records the element count of every run's first input.
type elementsSeen struct {
	Runner
	mu  sync.Mutex
	max int64
}

func (e *elementsSeen) Run(ctx context.Context, in []tensor.Tensor, out []string) ([]tensor.Tensor, error) {
	n, _ := tensor.ElementCount(in[0].Shape, 0)
	e.mu.Lock()
	e.max = max(e.max, n)
	e.mu.Unlock()
	return e.Runner.Run(ctx, in, out)
}

// TestPaddingStaysUnderTheCap: a request whose extent would pad the whole
// batch past MaxPaddedElements does not join it; it runs in a batch of its
// own, and every answer still equals the request run alone.
func TestPaddingStaysUnderTheCap(t *testing.T) {
	ss := sessions(t, "tiny_classifier", 1, 1)
	seen := &elementsSeen{Runner: ss[0]}
	p := newPlugged(seen)
	const maxPadded = 40
	b := New(Config{MaxBatchSize: 16, Enabled: true, MaxQueueDelay: 5 * time.Millisecond,
		PadValues: map[string]float64{"tokens": 0}, MaxPaddedElements: maxPadded}, []Runner{p}, nil)
	defer closeBatcher(t, b)
	var reqs [][]tensor.Tensor
	for i := range 8 {
		tok := int64(1 + i)
		reqs = append(reqs, []tensor.Tensor{testutil.Int64Tensor("tokens", []int64{1, 2}, tok, tok)})
	}
	// 30 tokens alone is within the cap; merged with 8 others it would pad
	// to 9 x 30 = 270 elements.
	long := make([]int64, 30)
	for i := range long {
		long[i] = int64(1 + i%40)
	}
	reqs = append(reqs[:4], append([][]tensor.Tensor{{testutil.Int64Tensor("tokens", []int64{1, 30}, long...)}}, reqs[4:]...)...)
	got, errs := runBehindPlug(t, b, p, reqs)
	sameAsAlone(t, ss[0], reqs, got, errs)
	if seen.max > maxPadded {
		t.Errorf("a run got %d padded elements, over the cap of %d", seen.max, maxPadded)
	}
}
