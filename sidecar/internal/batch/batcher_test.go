package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared/tensor"
)

// equalOutputs compares outputs byte for byte.
func equalOutputs(a, b []tensor.Tensor) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d outputs vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].DataType != b[i].DataType || !slices.Equal(a[i].Shape, b[i].Shape) || !bytes.Equal(a[i].Raw, b[i].Raw) {
			return fmt.Errorf("output %d: %s %s %v (%d bytes) vs %s %s %v (%d bytes)", i,
				a[i].Name, a[i].DataType, a[i].Shape, len(a[i].Raw), b[i].Name, b[i].DataType, b[i].Shape, len(b[i].Raw))
		}
	}
	return nil
}

// 64 concurrent requests, batched, answer exactly what each gets alone.
func TestBatchedEqualsUnbatched(t *testing.T) {
	ss := sessions(t, "adder", 2, 1)
	obs := &sizes{}
	p := newPlugged(ss[0])
	b := New(Config{MaxBatchSize: 8, Enabled: true, MaxQueueDelay: 5 * time.Millisecond, PreferredBatchSizes: []int{4, 8}, MaxQueueSize: 128},
		[]Runner{p}, obs)
	defer closeBatcher(t, b)

	rng := rand.New(rand.NewPCG(1, 2))
	const n = 64
	reqs := make([][]tensor.Tensor, n)
	for i := range reqs {
		items := int64(1 + i%3) // 1..3 items, so batches mix request sizes
		a, c := make([]float32, 4*items), make([]float32, 4*items)
		for j := range a {
			a[j], c[j] = rng.Float32()*100, rng.Float32()*100
		}
		reqs[i] = []tensor.Tensor{testutil.FP32Tensor("a", []int64{items, 4}, a...), testutil.FP32Tensor("b", []int64{items, 4}, c...)}
	}
	got, errs := runBehindPlug(t, b, p, reqs)
	sameAsAlone(t, ss[0], reqs, got, errs)
	all := obs.get()
	total := 0
	for _, s := range all {
		total += s
	}
	want := int(reqs[0][0].Shape[0]) // the plug
	for _, r := range reqs {
		want += int(r[0].Shape[0])
	}
	if total != want || slices.Max(all) < 2 {
		t.Errorf("batch sizes %v: want %d items (with the plug) in batches, some merged", all, want)
	}
	if slices.Max(all) > 8 {
		t.Errorf("batch sizes %v exceed max_batch_size 8", all)
	}
}

// Requests of different lengths share a batch padded with 0, and each gets
// the logits of its unpadded tokens.
func TestPaddingMerge(t *testing.T) {
	ss := sessions(t, "tiny_classifier", 1, 1)
	obs := &sizes{}
	const n = 40
	p := newPlugged(ss[0])
	b := New(Config{MaxBatchSize: 16, Enabled: true, MaxQueueDelay: 5 * time.Millisecond, MaxQueueSize: 64, PadValues: map[string]float64{"tokens": 0}},
		[]Runner{p}, obs)
	defer closeBatcher(t, b)

	rng := rand.New(rand.NewPCG(3, 4))
	reqs := make([][]tensor.Tensor, n)
	for i := range reqs {
		length := 1 + rng.IntN(12)
		items := 1 + rng.IntN(2)
		toks := make([]int64, items*length)
		for j := range toks {
			toks[j] = 1 + rng.Int64N(49) // no pad tokens inside
		}
		reqs[i] = []tensor.Tensor{testutil.Int64Tensor("tokens", []int64{int64(items), int64(length)}, toks...)}
	}
	got, errs := runBehindPlug(t, b, p, reqs)
	sameAsAlone(t, ss[0], reqs, got, errs)
	if all := obs.get(); slices.Max(all) < 2 {
		t.Errorf("batch sizes %v: nothing merged", all)
	}
}

// Without a pad value, requests whose non-batch dims differ never merge.
func TestNoPaddingKeepsShapesApart(t *testing.T) {
	ss := sessions(t, "tiny_classifier", 1, 1)
	g := newGate(ss[0])
	b := New(Config{MaxBatchSize: 16, Enabled: true, MaxQueueDelay: time.Millisecond, MaxQueueSize: 64}, []Runner{g}, nil)
	defer closeBatcher(t, b)
	var wg sync.WaitGroup
	for i := range 6 {
		length := int64(2 + i%2)
		toks := make([]int64, length)
		for j := range toks {
			toks[j] = int64(1 + i + j)
		}
		wg.Go(func() {
			if _, err := b.Infer(context.Background(), []tensor.Tensor{testutil.Int64Tensor("tokens", []int64{1, length}, toks...)}, nil); err != nil {
				t.Error(err)
			}
		})
	}
	close(g.release)
	wg.Wait()
	close(g.started)
	for in := range g.started {
		shape := in[0].Shape
		if n := shape[0]; n > 1 && len(in[0].Raw) != int(n*shape[1]*8) {
			t.Errorf("merged input %v has the wrong size", shape)
		}
	}
}

// Every datatype, BYTES included, survives a merge and a split.
func TestEveryDatatypeBatched(t *testing.T) {
	ss := sessions(t, "identity_types", 1, 1)
	const n = 24
	p := newPlugged(ss[0])
	obs := &sizes{}
	b := New(Config{MaxBatchSize: 8, Enabled: true, MaxQueueDelay: 5 * time.Millisecond, MaxQueueSize: 64}, []Runner{p}, obs)
	defer closeBatcher(t, b)
	reqs := make([][]tensor.Tensor, n)
	for i := range reqs {
		reqs[i] = identityInputs(int64(1+i%2), 3, uint64(i))
	}
	got, errs := runBehindPlug(t, b, p, reqs)
	for i := range reqs {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if len(got[i]) != len(reqs[i]) {
			t.Fatalf("request %d: %d outputs", i, len(got[i]))
		}
		for _, in := range reqs[i] {
			j := slices.IndexFunc(got[i], func(o tensor.Tensor) bool { return o.Name == "out_"+in.Name[3:] })
			if j < 0 || !bytes.Equal(got[i][j].Raw, in.Raw) || !slices.Equal(got[i][j].Shape, in.Shape) {
				t.Errorf("request %d %s: output differs", i, in.Name)
			}
		}
	}
	if all := obs.get(); slices.Max(all) < 2 {
		t.Errorf("batch sizes %v: nothing merged", all)
	}
}

func identityInputs(rows, cols int64, seed uint64) []tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 9))
	n := int(rows * cols)
	var out []tensor.Tensor
	for _, ty := range []struct {
		name string
		dt   tensor.DataType
	}{
		{"bool", tensor.Bool}, {"bytes", tensor.Bytes}, {"fp16", tensor.FP16}, {"fp32", tensor.FP32}, {"fp64", tensor.FP64},
		{"int16", tensor.Int16}, {"int32", tensor.Int32}, {"int64", tensor.Int64}, {"int8", tensor.Int8},
		{"uint16", tensor.UInt16}, {"uint32", tensor.UInt32}, {"uint64", tensor.UInt64}, {"uint8", tensor.UInt8},
	} {
		var raw []byte
		switch ty.dt {
		case tensor.Bytes:
			elems := make([][]byte, n)
			for i := range elems {
				elems[i] = []byte(fmt.Sprintf("s%d-%s", rng.IntN(1000), string(make([]byte, 0))))[:1+rng.IntN(4)]
			}
			raw = tensor.EncodeBytes(elems)
		case tensor.Bool:
			raw = make([]byte, n)
			for i := range raw {
				raw[i] = byte(rng.IntN(2))
			}
		default:
			raw = make([]byte, n*ty.dt.Size())
			for i := range raw {
				raw[i] = byte(rng.IntN(64)) // finite floats: top bits clear
			}
		}
		out = append(out, tensor.Tensor{Name: "in_" + ty.name, DataType: ty.dt, Shape: []int64{rows, cols}, Raw: raw})
	}
	return out
}

// A request that fails the model fails alone, not the batch it shared.
func TestBadRequestFailsAlone(t *testing.T) {
	ss := sessions(t, "tiny_classifier", 1, 1)
	const n = 8
	p := newPlugged(ss[0])
	obs := &sizes{}
	b := New(Config{MaxBatchSize: 16, Enabled: true, MaxQueueDelay: 5 * time.Millisecond, PadValues: map[string]float64{"tokens": 0}}, []Runner{p}, obs)
	defer closeBatcher(t, b)
	reqs := make([][]tensor.Tensor, n)
	for i := range reqs {
		tok := int64(1 + i)
		if i == 5 {
			tok = 99 // outside the 50-word embedding
		}
		reqs[i] = []tensor.Tensor{testutil.Int64Tensor("tokens", []int64{1, 2}, tok, tok)}
	}
	_, errs := runBehindPlug(t, b, p, reqs)
	for i, err := range errs {
		if (err != nil) != (i == 5) {
			t.Errorf("request %d: err = %v", i, err)
		}
	}
	if all := obs.get(); slices.Max(all) < 2 {
		t.Errorf("batch sizes %v: nothing merged", all)
	}
}

func TestQueueFull(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		t.Run(fmt.Sprintf("batching=%v", enabled), func(t *testing.T) {
			ss := sessions(t, "adder", 1, 1)
			g := newGate(ss[0])
			b := New(Config{MaxBatchSize: 8, Enabled: enabled, MaxQueueSize: 2}, []Runner{g}, nil)
			defer closeBatcher(t, b)
			in := []tensor.Tensor{testutil.FP32Tensor("a", []int64{1, 4}, 1, 2, 3, 4), testutil.FP32Tensor("b", []int64{1, 4}, 1, 2, 3, 4)}
			var wg sync.WaitGroup
			infer := func() {
				if _, err := b.Infer(context.Background(), in, nil); err != nil {
					t.Error(err)
				}
			}
			wg.Go(infer)
			<-g.started // the runner holds one, the queue is empty
			wg.Go(infer)
			wg.Go(infer)
			waitFor(t, "two queued requests", func() bool { return b.queued() == 2 })
			if _, err := b.Infer(context.Background(), in, nil); !errors.Is(err, ErrQueueFull) {
				t.Errorf("err = %v, want ErrQueueFull", err)
			}
			close(g.release)
			wg.Wait()
		})
	}
}

func TestDeadlineWhileQueued(t *testing.T) {
	ss := sessions(t, "adder", 1, 1)
	g := newGate(ss[0])
	b := New(Config{MaxBatchSize: 8, Enabled: true, MaxQueueDelay: time.Millisecond, DefaultTimeout: 20 * time.Millisecond}, []Runner{g}, nil)
	defer closeBatcher(t, b)
	in := func(v float32) []tensor.Tensor {
		return []tensor.Tensor{testutil.FP32Tensor("a", []int64{1, 4}, v, v, v, v), testutil.FP32Tensor("b", []int64{1, 4}, 0, 0, 0, 0)}
	}
	long, cancelLong := context.WithTimeout(context.Background(), time.Minute)
	defer cancelLong()
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := b.Infer(long, in(1), nil); err != nil {
			t.Error(err)
		}
	})
	<-g.started
	// Queued behind the held runner: one with its own deadline, one that
	// gets DefaultTimeout.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := b.Infer(ctx, in(2), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("own deadline: err = %v, want DeadlineExceeded", err)
	}
	if _, err := b.Infer(context.Background(), in(3), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("default timeout: err = %v, want DeadlineExceeded", err)
	}
	close(g.release)
	wg.Wait()
	// A request after them proves the worker moved on; none of the expired
	// ones reached the runner.
	if _, err := b.Infer(long, in(4), nil); err != nil {
		t.Fatal(err)
	}
	close(g.started)
	for inputs := range g.started {
		for _, tt := range inputs {
			if tt.Name == "a" && (bytes.Equal(tt.Raw, in(2)[0].Raw) || bytes.Equal(tt.Raw, in(3)[0].Raw)) {
				t.Errorf("an expired request reached the runner")
			}
		}
	}
}

func TestCloseDrains(t *testing.T) {
	ss := sessions(t, "adder", 3, 2)
	g0, g1 := newGate(ss[0]), newGate(ss[1])
	b := New(Config{MaxBatchSize: 4, Enabled: true, MaxQueueDelay: time.Millisecond, MaxQueueSize: 64}, []Runner{g0, g1}, nil)
	const n = 30
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		v := float32(i)
		wg.Go(func() {
			var out []tensor.Tensor
			out, errs[i] = b.Infer(context.Background(), []tensor.Tensor{testutil.FP32Tensor("a", []int64{1, 4}, v, v, v, v), testutil.FP32Tensor("b", []int64{1, 4}, 1, 1, 1, 1)}, []string{"sum"})
			if errs[i] == nil && !bytes.Equal(out[0].Raw, testutil.FP32Tensor("", nil, v+3, v+3, v+3, v+3).Raw) {
				errs[i] = fmt.Errorf("sum = %v", out[0].Raw)
			}
		})
	}
	running := len((<-g0.started)[0].Raw)/16 + len((<-g1.started)[0].Raw)/16 // one request per 4-float row
	waitFor(t, "every other request queued", func() bool { return b.queued() == n-running })

	// Close while both runners are busy and requests wait: it must not
	// return before they are done.
	short, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := b.Close(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with work left and a short ctx: err = %v, want DeadlineExceeded", err)
	}
	late := []tensor.Tensor{testutil.FP32Tensor("a", []int64{1, 4}, 1, 2, 3, 4), testutil.FP32Tensor("b", []int64{1, 4}, 1, 2, 3, 4)}
	if _, err := b.Infer(context.Background(), late, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Infer after Close: err = %v, want ErrClosed", err)
	}
	close(g0.release)
	close(g1.release)
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d failed during Close: %v", i, err)
		}
	}
}

// Several runners run batches at once: three calls must be in flight
// together before any may finish.
func TestSeveralRunners(t *testing.T) {
	ss := sessions(t, "adder", 1, 3)
	var mu sync.Mutex
	inFlight, peak := 0, 0
	all := make(chan struct{})
	barrier := func(r Runner) Runner {
		return runnerFunc(func(ctx context.Context, in []tensor.Tensor, out []string) ([]tensor.Tensor, error) {
			mu.Lock()
			inFlight++
			peak = max(peak, inFlight)
			if inFlight == 3 && peak == 3 {
				select {
				case <-all:
				default:
					close(all)
				}
			}
			mu.Unlock()
			<-all
			defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
			return r.Run(ctx, in, out)
		})
	}
	b := New(Config{MaxBatchSize: 8, Enabled: false, MaxQueueSize: 64}, []Runner{barrier(ss[0]), barrier(ss[1]), barrier(ss[2])}, nil)
	defer closeBatcher(t, b)
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			in := []tensor.Tensor{testutil.FP32Tensor("a", []int64{1, 4}, 1, 2, 3, 4), testutil.FP32Tensor("b", []int64{1, 4}, 1, 2, 3, 4)}
			if _, err := b.Infer(context.Background(), in, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if peak != 3 {
		t.Errorf("peak concurrent runs %d, want 3", peak)
	}
}

type runnerFunc func(ctx context.Context, in []tensor.Tensor, out []string) ([]tensor.Tensor, error)

func (f runnerFunc) Run(ctx context.Context, in []tensor.Tensor, out []string) ([]tensor.Tensor, error) {
	return f(ctx, in, out)
}

// A preferred size reachable from the queue goes at once, however long
// max_queue_delay is.
func TestPreferredSizeGoesAtOnce(t *testing.T) {
	ss := sessions(t, "adder", 1, 1)
	g := newGate(ss[0])
	obs := &sizes{}
	b := New(Config{MaxBatchSize: 8, Enabled: true, MaxQueueDelay: time.Hour, PreferredBatchSizes: []int{1, 4}}, []Runner{g}, obs)
	defer closeBatcher(t, b)
	in := []tensor.Tensor{testutil.FP32Tensor("a", []int64{1, 4}, 1, 2, 3, 4), testutil.FP32Tensor("b", []int64{1, 4}, 1, 2, 3, 4)}
	var wg sync.WaitGroup
	infer := func() {
		if _, err := b.Infer(context.Background(), in, nil); err != nil {
			t.Error(err)
		}
	}
	wg.Go(infer)
	<-g.started
	for range 4 {
		wg.Go(infer)
	}
	waitFor(t, "four queued", func() bool { return b.queued() == 4 })
	close(g.release)
	wg.Wait()
	if got := obs.get(); !slices.Equal(got, []int{1, 4}) {
		t.Errorf("batch sizes %v, want [1 4]", got)
	}
}

func TestNoBatchDim(t *testing.T) {
	ss := sessions(t, "adder", 2, 1)
	b := New(Config{MaxBatchSize: 0, Enabled: true}, runners(ss), nil)
	defer closeBatcher(t, b)
	// With max_batch_size 0 the first dim is the model's own: 12 rows pass.
	in := []tensor.Tensor{testutil.FP32Tensor("a", []int64{12, 4}, make([]float32, 48)...), testutil.FP32Tensor("b", []int64{12, 4}, make([]float32, 48)...)}
	out, err := b.Infer(context.Background(), in, []string{"sum"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out[0].Shape, []int64{12, 4}) {
		t.Errorf("shape %v", out[0].Shape)
	}
}

func TestInvalidRequests(t *testing.T) {
	ss := sessions(t, "adder", 1, 1)
	b := New(Config{MaxBatchSize: 4, Enabled: true}, runners(ss), nil)
	defer closeBatcher(t, b)
	cases := map[string][]tensor.Tensor{
		"too many items":   {testutil.FP32Tensor("a", []int64{5, 4}, make([]float32, 20)...), testutil.FP32Tensor("b", []int64{5, 4}, make([]float32, 20)...)},
		"batch dims apart": {testutil.FP32Tensor("a", []int64{1, 4}, make([]float32, 4)...), testutil.FP32Tensor("b", []int64{2, 4}, make([]float32, 8)...)},
		"scalar":           {{Name: "a", DataType: tensor.FP32, Shape: []int64{}, Raw: make([]byte, 4)}},
		"short raw":        {testutil.FP32Tensor("a", []int64{2, 4}, make([]float32, 4)...), testutil.FP32Tensor("b", []int64{2, 4}, make([]float32, 8)...)},
		"input twice":      {testutil.FP32Tensor("a", []int64{1, 4}, make([]float32, 4)...), testutil.FP32Tensor("a", []int64{1, 4}, make([]float32, 4)...)},
		"no inputs":        nil,
	}
	for name, in := range cases {
		if _, err := b.Infer(context.Background(), in, nil); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
		}
	}
}
