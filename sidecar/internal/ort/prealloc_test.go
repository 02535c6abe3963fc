package ort

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared/tensor"
)

// Outputs whose shape the inputs give are preallocated: the answer is the
// same as ONNX Runtime's own buffers give, and the session keeps doing it.
func TestPreallocatedOutputs(t *testing.T) {
	s := openSession(t, "adder", 2, Options{IntraOpThreads: 1})
	if s.sizable == nil {
		t.Fatal("the adder's outputs ([batch, 4], batch named by its inputs) are not preallocated")
	}
	in := []tensor.Tensor{
		testutil.FP32Tensor("a", []int64{2, 4}, 1, 2, 3, 4, 5, 6, 7, 8),
		testutil.FP32Tensor("b", []int64{2, 4}, 10, 20, 30, 40, 50, 60, 70, 80),
	}
	out, err := s.Run(context.Background(), in, []string{"sum", "diff"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fp32Values(t, out[0]); !slices.Equal(got, []float32{12, 23, 34, 45, 56, 67, 78, 89}) || !slices.Equal(out[0].Shape, []int64{2, 4}) {
		t.Errorf("sum = %v %v", out[0].Shape, got)
	}
	if got := fp32Values(t, out[1]); !slices.Equal(got, []float32{-9, -18, -27, -36, -45, -54, -63, -72}) {
		t.Errorf("diff = %v", got)
	}
	if s.autoOutputs.Load() {
		t.Error("preallocation was turned off after a good run")
	}
}

// A model whose output breaks its declared dim_param (y is declared [n] but
// is x twice, [2n]) still answers right: the run with a preallocated [n]
// output fails, the run with ONNX Runtime's buffer works, and the session
// stops preallocating, saying so once.
func TestPreallocationFallsBack(t *testing.T) {
	initORT(t)
	var logs logBuffer
	s, err := NewSession(concatTwiceModel(), Options{IntraOpThreads: 1}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.sizable == nil {
		t.Fatal("y [n] with n named by x should look preallocatable")
	}
	for range 2 {
		out, err := s.Run(context.Background(), []tensor.Tensor{testutil.FP32Tensor("x", []int64{3}, 1, 2, 3)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := fp32Values(t, out[0]); !slices.Equal(got, []float32{1, 2, 3, 1, 2, 3}) {
			t.Errorf("y = %v, want x twice", got)
		}
	}
	if !s.autoOutputs.Load() {
		t.Error("the session still preallocates")
	}
	if n := strings.Count(logs.String(), "refused preallocated outputs"); n != 1 {
		t.Errorf("logged the fallback %d times, want once:\n%s", n, logs.String())
	}
}

// concatTwiceModel is an ONNX model (opset 13): y = Concat(x, x), x FP32
// [n], y declared FP32 [n] although it is [2n].
func concatTwiceModel() []byte {
	msg := func(field protowire.Number, body []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, field, protowire.BytesType), body)
	}
	str := func(field protowire.Number, s string) []byte { return msg(field, []byte(s)) }
	varint := func(field protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, field, protowire.VarintType), v)
	}
	join := func(parts ...[]byte) []byte { return slices.Concat(parts...) }
	// ValueInfoProto{name, type: TypeProto{tensor_type{elem_type FLOAT, shape{dim{dim_param "n"}}}}}
	valueInfo := func(name string) []byte {
		shape := msg(2, msg(1, str(2, "n")))
		return join(str(1, name), msg(2, msg(1, join(varint(1, 1), shape))))
	}
	// AttributeProto{name "axis", i 0, type INT}
	axis := join(str(1, "axis"), varint(3, 0), varint(20, 2))
	node := join(str(1, "x"), str(1, "x"), str(2, "y"), str(3, "concat"), str(4, "Concat"), msg(5, axis))
	graph := join(msg(1, node), str(2, "concat_twice"), msg(11, valueInfo("x")), msg(12, valueInfo("y")))
	return join(varint(1, 8), msg(8, varint(2, 13)), msg(7, graph))
}
