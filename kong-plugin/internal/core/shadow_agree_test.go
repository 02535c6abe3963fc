package core

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
)

func fp64(vs ...float64) []byte {
	b := make([]byte, 0, 8*len(vs))
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

func out(name, dt string, shape []int64, raw []byte) *pb.InferTensor {
	return &pb.InferTensor{Name: name, Datatype: dt, Shape: shape, Raw: raw}
}

func answer(ts ...*pb.InferTensor) *pb.ModelInferResponse { return &pb.ModelInferResponse{Outputs: ts} }

// TestAgree: the comparison behind the shadow metric's agree/disagree.
func TestAgree(t *testing.T) {
	s := []int64{1, 2}
	label := func(l string) *pb.InferTensor {
		return out("label", "BYTES", []int64{1}, tensor.EncodeBytes([][]byte{[]byte(l)}))
	}
	tests := []struct {
		name string
		a, b *pb.ModelInferResponse
		want bool
	}{
		{"equal FP32", answer(out("y", "FP32", s, testutil.FP32(1, 2))), answer(out("y", "FP32", s, testutil.FP32(1, 2))), true},
		{"FP32 within 1e-3", answer(out("y", "FP32", s, testutil.FP32(1000, 2))), answer(out("y", "FP32", s, testutil.FP32(1000.5, 2))), true},
		{"FP32 beyond 1e-3", answer(out("y", "FP32", s, testutil.FP32(1000, 2))), answer(out("y", "FP32", s, testutil.FP32(1002, 2))), false},
		{"FP64 within", answer(out("y", "FP64", s, fp64(1, 2))), answer(out("y", "FP64", s, fp64(1.0000001, 2))), true},
		{"INT64 exact", answer(out("y", "INT64", []int64{1}, []byte{1, 0, 0, 0, 0, 0, 0, 0})),
			answer(out("y", "INT64", []int64{1}, []byte{2, 0, 0, 0, 0, 0, 0, 0})), false},
		{"other datatype", answer(out("y", "FP32", s, testutil.FP32(1, 2))), answer(out("y", "FP64", s, fp64(1, 2))), false},
		{"other shape", answer(out("y", "FP32", s, testutil.FP32(1, 2))), answer(out("y", "FP32", []int64{2, 1}, testutil.FP32(1, 2))), false},
		{"other length", answer(out("y", "FP32", s, testutil.FP32(1, 2))), answer(out("y", "FP32", s, testutil.FP32(1))), false},
		{"only shared outputs count", answer(out("y", "FP32", s, testutil.FP32(1, 2)), out("only_a", "FP32", s, testutil.FP32(9, 9))),
			answer(out("y", "FP32", s, testutil.FP32(1, 2)), out("only_b", "FP32", s, testutil.FP32(7, 7))), true},
		{"nothing shared", answer(out("y", "FP32", s, testutil.FP32(1, 2))), answer(out("z", "FP32", s, testutil.FP32(1, 2))), false},
		{"no outputs", answer(), answer(), false},
		{"same label, other scores", answer(label("positive"), out("probabilities", "FP32", s, testutil.FP32(0.1, 0.9))),
			answer(label("positive"), out("probabilities", "FP32", s, testutil.FP32(0.3, 0.7))), true},
		{"other label", answer(label("positive"), out("probabilities", "FP32", s, testutil.FP32(0.4, 0.6))),
			answer(label("negative"), out("probabilities", "FP32", s, testutil.FP32(0.6, 0.4))), false},
	}
	for _, tt := range tests {
		if got := agree(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: agree = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// shadowAdderConfig serves only the adder, stable on version 1, with every
// request mirrored to the canary (version 2).
func shadowAdderConfig(t testing.TB) config.Config {
	cfg := adderConfig(t)
	cfg.Models = []config.Model{{
		Name:         "adder",
		Aliases:      map[string]string{"stable": "1", "canary": "2"},
		DefaultAlias: "stable",
		Shadow:       config.Shadow{Target: "canary", Percent: 100},
	}}
	return cfg
}

// TestShadowAgrees: adder versions 1 and 2 differ in `sum` but not in
// `diff`; asking only for `diff`, every shadow answer agrees.
func TestShadowAgrees(t *testing.T) {
	g := startGateway(t, shadowAdderConfig(t))
	agreed := g.metrics.shadow.WithLabelValues("adder", "1", "2", shadowAgree)
	disagreed := g.metrics.shadow.WithLabelValues("adder", "1", "2", shadowDisagree)
	before, beforeDis := value(agreed), value(disagreed)
	body := strings.Replace(adderBody, `"outputs":[{"name":"sum"}]`, `"outputs":[{"name":"diff"}]`, 1)
	if body == adderBody {
		t.Fatal("adderBody no longer asks for sum")
	}
	const n = 5
	for i := range n {
		if res := call(g, "POST", "/v2/models/adder/infer", keyBob, body); res.Status != 200 {
			t.Fatalf("request %d: %d %s", i, res.Status, res.Body)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for value(agreed)-before < n {
		if time.Now().After(deadline) {
			t.Fatalf("shadow agreements %v, want %d", value(agreed)-before, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := value(disagreed) - beforeDis; d != 0 {
		t.Errorf("%v shadow disagreements on diff", d)
	}
}

// TestShadowDropsWhenFull: with every shadow slot taken, a sampled request
// is not mirrored but counted as dropped, before its answer returns.
func TestShadowDropsWhenFull(t *testing.T) {
	g := startGateway(t, shadowAdderConfig(t))
	dropped := g.metrics.shadow.WithLabelValues("adder", "1", "2", shadowDropped)
	before := value(dropped)
	taken := 0
	for full := false; !full; {
		select {
		case g.shadowSlots <- struct{}{}:
			taken++
		default:
			full = true
		}
	}
	defer func() {
		for range taken {
			<-g.shadowSlots
		}
	}()
	if res := call(g, "POST", "/v2/models/adder/infer", keyBob, adderBody); res.Status != 200 {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	if d := value(dropped) - before; d != 1 {
		t.Errorf("dropped shadow requests grew by %v, want 1", d)
	}
}
