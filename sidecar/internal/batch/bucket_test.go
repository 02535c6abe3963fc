package batch

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared/tensor"
)

func TestBucket(t *testing.T) {
	b := &Batcher{cfg: Config{PadToPreferred: true}, preferred: preferredSizes([]int{8, 4}, 16)}
	for items, want := range map[int]int{0: 0, 1: 4, 3: 4, 4: 4, 5: 8, 8: 8, 9: 9, 16: 16} {
		if got := b.bucket(items); got != want {
			t.Errorf("bucket(%d) = %d, want %d", items, got, want)
		}
	}
	b.cfg.PadToPreferred = false
	if got := b.bucket(3); got != 3 {
		t.Errorf("without PadToPreferred bucket(3) = %d, want 3", got)
	}
}

func adderInputs(items int64, seed float32) []tensor.Tensor {
	a, c := make([]float32, 4*items), make([]float32, 4*items)
	for j := range a {
		a[j], c[j] = seed+float32(j), seed*float32(j)+0.5
	}
	return []tensor.Tensor{testutil.FP32Tensor("a", []int64{items, 4}, a...), testutil.FP32Tensor("b", []int64{items, 4}, c...)}
}

// Three single-item requests that form one batch run as a batch of 4 (the
// smallest preferred size holding them), each gets its own answer, and the
// Observer still sees 3 items.
func TestPadToPreferredBucket(t *testing.T) {
	ss := sessions(t, "adder", 2, 1)
	rec := &recorder{Runner: ss[0]}
	p := newPlugged(rec)
	obs := &sizes{}
	b := New(Config{MaxBatchSize: 8, Enabled: true, MaxQueueDelay: 5 * time.Millisecond, PreferredBatchSizes: []int{4, 8}, PadToPreferred: true},
		[]Runner{p}, obs)
	defer closeBatcher(t, b)
	reqs := [][]tensor.Tensor{adderInputs(1, 1), adderInputs(1, 20), adderInputs(1, 300)}
	got, errs := runBehindPlug(t, b, p, reqs)
	sameAsAlone(t, ss[0], reqs, got, errs)
	// The plug (reqs[0] alone) is padded to 4 too.
	if rows := rec.get(); !slices.Equal(rows, []int64{4, 4}) {
		t.Errorf("the runner saw batches of %v, want [4 4]", rows)
	}
	if all := obs.get(); !slices.Equal(all, []int{1, 3}) {
		t.Errorf("observed batch sizes %v, want the real item counts [1 3]", all)
	}
}

// A batch larger than every preferred size runs as it is, and so does a
// batch that is a preferred size; without PadToPreferred nothing is padded.
func TestPadToPreferredLeavesLargeBatches(t *testing.T) {
	for _, pad := range []bool{true, false} {
		t.Run(fmt.Sprintf("pad=%v", pad), func(t *testing.T) {
			ss := sessions(t, "adder", 2, 1)
			rec := &recorder{Runner: ss[0]}
			p := newPlugged(rec)
			b := New(Config{MaxBatchSize: 8, Enabled: true, MaxQueueDelay: 5 * time.Millisecond, PreferredBatchSizes: []int{2, 4}, PadToPreferred: pad},
				[]Runner{p}, nil)
			defer closeBatcher(t, b)
			// Behind the plug (3 items), 3 + 3 items: no prefix is a preferred
			// size, so they go together as 6 once the delay is up.
			reqs := [][]tensor.Tensor{adderInputs(3, 1), adderInputs(3, 7)}
			got, errs := runBehindPlug(t, b, p, reqs)
			sameAsAlone(t, ss[0], reqs, got, errs)
			want := []int64{3, 6}
			if pad {
				want = []int64{4, 6}
			}
			if rows := rec.get(); !slices.Equal(rows, want) {
				t.Errorf("the runner saw batches of %v, want %v", rows, want)
			}
			if _, err := b.Infer(context.Background(), adderInputs(4, 2), nil); err != nil {
				t.Fatal(err)
			}
			if rows := rec.get(); rows[len(rows)-1] != 4 {
				t.Errorf("a preferred-size batch ran as %d rows", rows[len(rows)-1])
			}
		})
	}
}

// Every datatype, BYTES (empty strings) included, pads to a bucket and
// comes back without the padded rows.
func TestPadToPreferredEveryDatatype(t *testing.T) {
	ss := sessions(t, "identity_types", 1, 1)
	rec := &recorder{Runner: ss[0]}
	p := newPlugged(rec)
	b := New(Config{MaxBatchSize: 8, Enabled: true, MaxQueueDelay: 5 * time.Millisecond, PreferredBatchSizes: []int{4, 8}, PadToPreferred: true},
		[]Runner{p}, nil)
	defer closeBatcher(t, b)
	reqs := [][]tensor.Tensor{identityInputs(3, 2, 1), identityInputs(3, 2, 2)}
	got, errs := runBehindPlug(t, b, p, reqs)
	for i := range reqs {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		for _, in := range reqs[i] {
			j := slices.IndexFunc(got[i], func(o tensor.Tensor) bool { return o.Name == "out_"+in.Name[3:] })
			if j < 0 || !bytes.Equal(got[i][j].Raw, in.Raw) || !slices.Equal(got[i][j].Shape, in.Shape) {
				t.Errorf("request %d %s: output differs from its input", i, in.Name)
			}
		}
	}
	// The plug (3 items) pads to 4; 3 + 3 items (no prefix is a preferred
	// size) go together once the delay is up, padded to 8.
	if rows := rec.get(); !slices.Equal(rows, []int64{4, 8}) {
		t.Errorf("the runner saw batches of %v, want [4 8]", rows)
	}
}

// Buckets and pad_value together: requests of different lengths are padded
// to the longest and the batch to a bucket; each gets its own logits.
func TestPadToPreferredWithPadValues(t *testing.T) {
	ss := sessions(t, "tiny_classifier", 1, 1)
	rec := &recorder{Runner: ss[0]}
	p := newPlugged(rec)
	b := New(Config{MaxBatchSize: 16, Enabled: true, MaxQueueDelay: 5 * time.Millisecond, PreferredBatchSizes: []int{4, 8, 16},
		PadToPreferred: true, PadValues: map[string]float64{"tokens": 0}}, []Runner{p}, nil)
	defer closeBatcher(t, b)
	var reqs [][]tensor.Tensor
	for i := range 5 {
		length := int64(2 + i)
		toks := make([]int64, length)
		for j := range toks {
			toks[j] = int64(1 + (i*7+j)%49)
		}
		reqs = append(reqs, []tensor.Tensor{testutil.Int64Tensor("tokens", []int64{1, length}, toks...)})
	}
	got, errs := runBehindPlug(t, b, p, reqs)
	sameAsAlone(t, ss[0], reqs, got, errs)
	for _, n := range rec.get() {
		if !slices.Contains([]int64{4, 8, 16}, n) {
			t.Errorf("the runner saw a batch of %d, not a bucket size", n)
		}
	}
}

// A request that fails the model fails alone, padded batch or not, and the
// others still get their answers.
func TestPadToPreferredBadRequestFailsAlone(t *testing.T) {
	ss := sessions(t, "tiny_classifier", 1, 1)
	rec := &recorder{Runner: ss[0]}
	p := newPlugged(rec)
	b := New(Config{MaxBatchSize: 16, Enabled: true, MaxQueueDelay: 5 * time.Millisecond, PreferredBatchSizes: []int{4, 16}, PadToPreferred: true},
		[]Runner{p}, nil)
	defer closeBatcher(t, b)
	reqs := make([][]tensor.Tensor, 6)
	for i := range reqs {
		tok := int64(1 + i)
		if i == 3 {
			tok = 99 // outside the 50-word embedding
		}
		reqs[i] = []tensor.Tensor{testutil.Int64Tensor("tokens", []int64{1, 2}, tok, tok)}
	}
	got, errs := runBehindPlug(t, b, p, reqs)
	for i, err := range errs {
		if (err != nil) != (i == 3) {
			t.Errorf("request %d: err = %v", i, err)
		}
	}
	good := slices.Concat(reqs[:3], reqs[4:])
	sameAsAlone(t, ss[0], good, slices.Concat(got[:3], got[4:]), slices.Concat(errs[:3], errs[4:]))
	// Every run, the lone retries included, was a bucket size.
	for _, n := range rec.get() {
		if n != 4 && n != 16 {
			t.Errorf("the runner saw a batch of %d, not a bucket size", n)
		}
	}
}
