package ort

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared/tensor"
)

func TestAdderVersions(t *testing.T) {
	for version := 1; version <= 3; version++ {
		s := openSession(t, "adder", version, Options{})
		if got := s.Provider(); got != ProviderCPU {
			t.Errorf("Provider() = %q, want cpu", got)
		}
		a := testutil.FP32Tensor("a", []int64{2, 4}, 1, 2, 3, 4, 5, 6, 7, 8)
		b := testutil.FP32Tensor("b", []int64{2, 4}, 0.5, 0.5, 0.5, 0.5, -1, -2, -3, -4)
		out, err := s.Run(context.Background(), []tensor.Tensor{b, a}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 2 || out[0].Name != "sum" || out[1].Name != "diff" {
			t.Fatalf("outputs %v, want sum, diff", out)
		}
		off := float32(version - 1)
		wantSum := []float32{1.5 + off, 2.5 + off, 3.5 + off, 4.5 + off, 4 + off, 4 + off, 4 + off, 4 + off}
		wantDiff := []float32{0.5, 1.5, 2.5, 3.5, 6, 8, 10, 12}
		if got := fp32Values(t, out[0]); !slices.Equal(got, wantSum) {
			t.Errorf("v%d sum = %v, want %v", version, got, wantSum)
		}
		if got := fp32Values(t, out[1]); !slices.Equal(got, wantDiff) {
			t.Errorf("v%d diff = %v, want %v", version, got, wantDiff)
		}
		for _, o := range out {
			if !slices.Equal(o.Shape, []int64{2, 4}) || o.DataType != tensor.FP32 {
				t.Errorf("%s: %s %v, want FP32 [2 4]", o.Name, o.DataType, o.Shape)
			}
		}
	}
}

func TestInputsOutputsFromModel(t *testing.T) {
	s := openSession(t, "adder", 1, Options{})
	want := []IOInfo{{"a", tensor.FP32, []int64{-1, 4}}, {"b", tensor.FP32, []int64{-1, 4}}}
	if got := s.Inputs(); !equalInfo(got, want) {
		t.Errorf("Inputs() = %v, want %v", got, want)
	}
	want = []IOInfo{{"sum", tensor.FP32, []int64{-1, 4}}, {"diff", tensor.FP32, []int64{-1, 4}}}
	if got := s.Outputs(); !equalInfo(got, want) {
		t.Errorf("Outputs() = %v, want %v", got, want)
	}
	tc := openSession(t, "tiny_classifier", 1, Options{IntraOpThreads: 1})
	want = []IOInfo{{"tokens", tensor.Int64, []int64{-1, -1}}}
	if got := tc.Inputs(); !equalInfo(got, want) {
		t.Errorf("tiny_classifier Inputs() = %v, want %v (initializers must not count as inputs)", got, want)
	}
}

func equalInfo(a, b []IOInfo) bool {
	return slices.EqualFunc(a, b, func(x, y IOInfo) bool {
		return x.Name == y.Name && x.DataType == y.DataType && slices.Equal(x.Dims, y.Dims)
	})
}

func TestOutputSelection(t *testing.T) {
	s := openSession(t, "adder", 2, Options{})
	in := []tensor.Tensor{testutil.FP32Tensor("a", []int64{1, 4}, 1, 1, 1, 1), testutil.FP32Tensor("b", []int64{1, 4}, 1, 1, 1, 1)}
	out, err := s.Run(context.Background(), in, []string{"diff", "sum"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].Name != "diff" || out[1].Name != "sum" {
		t.Fatalf("got %v, want diff then sum", out)
	}
	if got := fp32Values(t, out[1]); !slices.Equal(got, []float32{3, 3, 3, 3}) {
		t.Errorf("sum = %v", got)
	}
	out, err = s.Run(context.Background(), in, []string{"diff"})
	if err != nil || len(out) != 1 || out[0].Name != "diff" {
		t.Fatalf("Run(diff) = %v, %v", out, err)
	}
}

func TestRunErrors(t *testing.T) {
	s := openSession(t, "adder", 1, Options{})
	a := testutil.FP32Tensor("a", []int64{1, 4}, 1, 2, 3, 4)
	b := testutil.FP32Tensor("b", []int64{1, 4}, 1, 2, 3, 4)
	short := b
	short.Raw = short.Raw[:12]
	asInt := testutil.Int64Tensor("b", []int64{1, 4}, 1, 2, 3, 4)
	rank3 := testutil.FP32Tensor("b", []int64{1, 1, 4}, 1, 2, 3, 4)
	wide := testutil.FP32Tensor("b", []int64{1, 5}, 1, 2, 3, 4, 5)
	stranger := testutil.FP32Tensor("c", []int64{1, 4}, 1, 2, 3, 4)
	cases := []struct {
		name    string
		inputs  []tensor.Tensor
		outputs []string
		want    string
	}{
		{"unknown input", []tensor.Tensor{a, b, stranger}, nil, `unknown input "c"`},
		{"missing input", []tensor.Tensor{a}, nil, `missing input "b"`},
		{"duplicate input", []tensor.Tensor{a, a, b}, nil, `input "a" given twice`},
		{"wrong datatype", []tensor.Tensor{a, asInt}, nil, `input "b" is FP32, got INT64`},
		{"wrong rank", []tensor.Tensor{a, rank3}, nil, `has rank 2`},
		{"wrong static dim", []tensor.Tensor{a, wide}, nil, `has shape [-1 4], got [1 5]`},
		{"short raw", []tensor.Tensor{a, short}, nil, `needs 16 bytes, got 12`},
		{"unknown output", []tensor.Tensor{a, b}, []string{"product"}, `unknown output "product"`},
		{"duplicate output", []tensor.Tensor{a, b}, []string{"sum", "sum"}, `output "sum" asked for twice`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Run(context.Background(), c.inputs, c.outputs)
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("err = %v, want ErrInvalidInput", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %q, want it to say %q", err, c.want)
			}
		})
	}
}

func TestRunContext(t *testing.T) {
	s := openSession(t, "adder", 1, Options{})
	in := []tensor.Tensor{testutil.FP32Tensor("a", []int64{1, 4}, 1, 2, 3, 4), testutil.FP32Tensor("b", []int64{1, 4}, 1, 2, 3, 4)}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := s.Run(ctx, in, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("expired ctx: err = %v, want DeadlineExceeded", err)
	}
	// A live ctx with a deadline takes the RunOptions path.
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.Run(ctx, in, nil); err != nil {
		t.Errorf("live ctx: %v", err)
	}
}

func TestClose(t *testing.T) {
	initORT(t)
	s, err := NewSession(modelBytes(t, "adder", 1), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := []tensor.Tensor{testutil.FP32Tensor("a", []int64{1, 4}, 1, 2, 3, 4), testutil.FP32Tensor("b", []int64{1, 4}, 1, 2, 3, 4)}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 8 {
		wg.Go(func() {
			for range 8 {
				if _, err := s.Run(context.Background(), in, nil); err != nil && !errors.Is(err, ErrClosed) {
					errs <- err
				}
			}
		})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Run: %v", err)
	}
	if _, err := s.Run(context.Background(), in, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: err = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestNewSessionErrors(t *testing.T) {
	initORT(t)
	log := slog.New(slog.DiscardHandler)
	if _, err := NewSession([]byte("not an onnx model"), Options{}, log); err == nil {
		t.Error("garbage model: no error")
	}
	if _, err := NewSession(modelBytes(t, "adder", 1), Options{Providers: []string{"tpu"}}, log); err == nil || !strings.Contains(err.Error(), `"tpu"`) {
		t.Errorf("unknown provider: err = %v", err)
	}
	if err := Init("/nonexistent/libonnxruntime.so"); err == nil {
		t.Error("Init with a second path: no error")
	}
}

func TestTinyClassifierPaddingInvariant(t *testing.T) {
	s := openSession(t, "tiny_classifier", 1, Options{})
	short, err := s.Run(context.Background(), []tensor.Tensor{testutil.Int64Tensor("tokens", []int64{1, 3}, 5, 7, 9)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	padded, err := s.Run(context.Background(), []tensor.Tensor{testutil.Int64Tensor("tokens", []int64{1, 6}, 5, 7, 9, 0, 0, 0)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := fp32Values(t, short[0]), fp32Values(t, padded[0]); !slices.Equal(a, b) {
		t.Errorf("padding changed the logits: %v vs %v", a, b)
	}
}

func TestTextSentiment(t *testing.T) {
	s := openSession(t, "text_sentiment", 1, Options{})
	// vocab ids: "i" = 10, "love" = 24, "hate" = 34 (see gen_models.py).
	toks := make([]int64, 32)
	copy(toks, []int64{10, 24})
	copy(toks[16:], []int64{10, 34})
	out, err := s.Run(context.Background(), []tensor.Tensor{testutil.Int64Tensor("tokens", []int64{2, 16}, toks...)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := fp32Values(t, out[0])
	if !(l[1] > l[0]) || !(l[2] > l[3]) {
		t.Errorf("logits %v: want row 0 positive, row 1 negative", l)
	}
}

// TestNoSpinning checks that NoSpinning sets ONNX Runtime's
// session.intra_op.allow_spinning to "0", leaves it at ORT's default
// otherwise, and that a session built with it runs.
func TestNoSpinning(t *testing.T) {
	initORT(t)
	for _, tt := range []struct {
		noSpinning bool
		want       string
	}{{false, ""}, {true, "0"}} {
		so, _, _, err := newSessionOptions(Options{NoSpinning: tt.noSpinning, IntraOpThreads: 2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		has, err := so.HasSessionConfigEntry("session.intra_op.allow_spinning")
		got := ""
		if err == nil && has {
			got, err = so.GetSessionConfigEntry("session.intra_op.allow_spinning")
		}
		so.Destroy()
		if err != nil || got != tt.want {
			t.Errorf("NoSpinning %v: allow_spinning = %q (%v), want %q", tt.noSpinning, got, err, tt.want)
		}
	}
	s := openSession(t, "adder", 1, Options{NoSpinning: true, IntraOpThreads: 2})
	for range 3 {
		out, err := s.Run(context.Background(), []tensor.Tensor{
			testutil.FP32Tensor("a", []int64{1, 4}, 1, 2, 3, 4), testutil.FP32Tensor("b", []int64{1, 4}, 1, 1, 1, 1)}, []string{"sum"})
		if err != nil {
			t.Fatal(err)
		}
		if got := fp32Values(t, out[0]); !slices.Equal(got, []float32{2, 3, 4, 5}) {
			t.Errorf("sum without spinning = %v", got)
		}
	}
}
