package textproc

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared/tensor"
	"github.com/modelgate/modelgate/sidecar/internal/config"
)

func newTokenizer(t *testing.T, lowercase bool) *Tokenizer {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte("<pad>\n<unk>\ngood\nfilm\n42\nété\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := NewTokenizer(config.TextPreprocess{Input: "text", Target: "tokens", Vocabulary: "vocab.txt",
		Lowercase: &lowercase, UnknownID: 1, PadID: 0, MaxLength: 4}, dir)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTokenizerIDs(t *testing.T) {
	tok := newTokenizer(t, true)
	tests := []struct {
		text string
		want []int64
	}{
		{"A GOOD film!", []int64{1, 2, 3, 0}},
		{"good,film;42", []int64{2, 3, 4, 0}},
		{"", []int64{0, 0, 0, 0}},
		{"Été good good good good", []int64{5, 2, 2, 2}},
		{"  ...  ", []int64{0, 0, 0, 0}},
	}
	for _, tt := range tests {
		if got := tok.IDs(nil, tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("IDs(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
	cased := newTokenizer(t, false)
	if got := cased.IDs(nil, "Good good"); !slices.Equal(got, []int64{1, 2, 0, 0}) {
		t.Errorf("without lowercase: %v", got)
	}
}

func TestTokenizerApply(t *testing.T) {
	tok := newTokenizer(t, true)
	for _, shape := range [][]int64{{2}, {2, 1}} {
		in := tensor.Tensor{Name: "text", DataType: tensor.Bytes, Shape: shape, Raw: tensor.EncodeBytes([][]byte{[]byte("good film"), []byte("bad")})}
		out, err := tok.Apply(in, tensor.Int64)
		if err != nil {
			t.Fatal(err)
		}
		if out.Name != "tokens" || !slices.Equal(out.Shape, []int64{2, 4}) || len(out.Raw) != 64 {
			t.Fatalf("got %s %v %d bytes", out.Name, out.Shape, len(out.Raw))
		}
		var ids []int64
		for i := 0; i < 8; i++ {
			ids = append(ids, int64(binary.LittleEndian.Uint64(out.Raw[8*i:])))
		}
		if !slices.Equal(ids, []int64{2, 3, 0, 0, 1, 0, 0, 0}) {
			t.Errorf("ids %v", ids)
		}
	}
	out, err := tok.Apply(tensor.Tensor{Name: "text", DataType: tensor.Bytes, Shape: []int64{1}, Raw: tensor.EncodeBytes([][]byte{[]byte("film")})}, tensor.Int32)
	if err != nil || len(out.Raw) != 16 || binary.LittleEndian.Uint32(out.Raw) != 3 {
		t.Errorf("INT32 target: %v %v", out, err)
	}
	for _, bad := range []tensor.Tensor{
		{Name: "text", DataType: tensor.FP32, Shape: []int64{1}, Raw: make([]byte, 4)},
		{Name: "text", DataType: tensor.Bytes, Shape: []int64{1, 2}, Raw: tensor.EncodeBytes([][]byte{nil, nil})},
		{Name: "text", DataType: tensor.Bytes, Shape: []int64{2}, Raw: tensor.EncodeBytes([][]byte{nil})},
	} {
		if _, err := tok.Apply(bad, tensor.Int64); err == nil {
			t.Errorf("Apply(%v %v) accepted", bad.DataType, bad.Shape)
		}
	}
}

func TestClassifier(t *testing.T) {
	c := NewClassifier(config.Classify{Output: "logits", Softmax: true, Labels: []string{"negative", "positive"}})
	probs, labels, err := c.Apply(tensor.Tensor{Name: "logits", DataType: tensor.FP32, Shape: []int64{2, 2}, Raw: testutil.FP32(0, float32(math.Log(3)), 1000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	var p []float32
	for i := 0; i < 4; i++ {
		p = append(p, math.Float32frombits(binary.LittleEndian.Uint32(probs.Raw[4*i:])))
	}
	want := []float32{0.25, 0.75, 1, 0}
	for i := range want {
		if math.Abs(float64(p[i]-want[i])) > 1e-6 {
			t.Errorf("probabilities %v, want %v", p, want)
			break
		}
	}
	names, err := tensor.DecodeBytes(labels.Raw, 2)
	if err != nil || string(names[0]) != "positive" || string(names[1]) != "negative" || !slices.Equal(labels.Shape, []int64{2}) {
		t.Errorf("labels %q %v %v", names, labels.Shape, err)
	}
	if _, _, err := c.Apply(tensor.Tensor{Name: "logits", DataType: tensor.FP32, Shape: []int64{1, 3}, Raw: testutil.FP32(1, 2, 3)}); err == nil {
		t.Error("3 scores for 2 labels accepted")
	}
	if _, _, err := c.Apply(tensor.Tensor{Name: "logits", DataType: tensor.Int32, Shape: []int64{1, 2}, Raw: make([]byte, 8)}); err == nil {
		t.Error("INT32 scores accepted")
	}
}
