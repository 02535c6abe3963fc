package bench

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
)

// TestTokenizerMatchesTheSidecar feeds every held-out sentence as text to
// the real sidecar serving the shipped sentiment model, and the Tokenizer's
// ids for it to the same model in-process: the probabilities must agree, so
// the raw path and the lean peer run exactly the ids the sidecar runs.
func TestTokenizerMatchesTheSidecar(t *testing.T) {
	root := testutil.RepoRoot()
	modelDir := filepath.Join(root, "deploy", "models", "sentiment")
	tok, err := LoadTokenizer(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	texts, err := ReadSentences(filepath.Join(root, "deploy", "train", "data", "heldout.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	// Edge cases beside the real sentences: empty, no words, longer than
	// max_length, mixed case and digits, non-ASCII letters.
	texts = append(texts, "", " ,.!? ", strings.Repeat("great film ", 40), "GREAT Film 10/10", "Ein großartiger Film, très émouvant")
	if tok.VocabSize() < 1000 || tok.MaxLength != 64 || len(texts) < 500 {
		t.Fatalf("vocabulary %d tokens, max_length %d, %d sentences", tok.VocabSize(), tok.MaxLength, len(texts))
	}

	dir := t.TempDir()
	repo := filepath.Join(dir, "models")
	if err := CopyModelVersion(modelDir, filepath.Join(repo, "sentiment"), "1"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var log strings.Builder
	w := &syncWriter{b: &log}
	sc, err := StartSidecar(ctx, testutil.Binary(t, "modelgate-sidecar"), testutil.ORTLib(t), repo, dir, w)
	if err != nil {
		t.Fatalf("%v\nsidecar log:\n%s", err, w.String())
	}
	defer sc.Stop()

	ort.SetSharedLibraryPath(testutil.ORTLib(t))
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		t.Fatal(err)
	}
	defer ort.DestroyEnvironment()
	sess, err := ort.NewDynamicAdvancedSession(filepath.Join(modelDir, "1", "model.onnx"), []string{tok.Target}, []string{"logits"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Destroy()

	for i, text := range texts {
		resp, err := sc.Client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "sentiment", ModelVersion: "1", Inputs: []*pb.InferTensor{
			{Name: tok.Input, Datatype: "BYTES", Shape: []int64{1}, Raw: tensor.EncodeBytes([][]byte{[]byte(text)})}}})
		if err != nil {
			t.Fatalf("sentence %d %q: %v", i, text, err)
		}
		var sidecar []float32
		for _, o := range resp.Outputs {
			if o.Name == "probabilities" {
				sidecar = testutil.Float32s(o.Raw)
			}
		}
		in, err := ort.NewTensor(ort.NewShape(1, int64(tok.MaxLength)), tok.IDs(nil, text))
		if err != nil {
			t.Fatal(err)
		}
		out, err := ort.NewEmptyTensor[float32](ort.NewShape(1, 2))
		if err != nil {
			t.Fatal(err)
		}
		err = sess.Run([]ort.Value{in}, []ort.Value{out})
		logits := append([]float32(nil), out.GetData()...)
		in.Destroy()
		out.Destroy()
		if err != nil {
			t.Fatal(err)
		}
		want := softmax(logits)
		if len(sidecar) != len(want) {
			t.Fatalf("sentence %d %q: sidecar probabilities %v, outputs %v", i, text, sidecar, resp.Outputs)
		}
		for k := range want {
			if math.Abs(float64(sidecar[k]-want[k])) > 1e-5 {
				t.Errorf("sentence %d %q: sidecar %v, tokenizer's ids in-process %v", i, text, sidecar, want)
				break
			}
		}
	}
}

func softmax(xs []float32) []float32 {
	top := xs[0]
	for _, x := range xs {
		top = max(top, x)
	}
	out := make([]float32, len(xs))
	var sum float64
	for i, x := range xs {
		e := math.Exp(float64(x - top))
		out[i] = float32(e)
		sum += e
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / sum)
	}
	return out
}

func TestReadSentences(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.tsv")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("source\tlabel\ttext\nimdb\t1\tA fine film.\r\nimdb\t0\t\nyelp\t0\tCold food.\n")
	got, err := ReadSentences(path)
	if err != nil || len(got) != 2 || got[0] != "A fine film." || got[1] != "Cold food." {
		t.Fatalf("ReadSentences = %q, %v", got, err)
	}
	write("a\tb\nx\ty\n")
	if _, err := ReadSentences(path); err == nil {
		t.Fatal("a file without a text column was read")
	}
}
