package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

var modelDir = filepath.Join("deploy", "models", "sentiment")

// versions are the committed versions of the example model: 1 and 2 trained
// by deploy/train/train.py, 3 quantized from 2 by deploy/train/quantize.py.
var versions = []string{"1", "2", "3"}

// TestModelChecksums: each committed model.onnx matches its model.onnx.sha256.
func TestModelChecksums(t *testing.T) {
	for _, version := range versions {
		checkedModel(t, filepath.Join(testutil.RepoRoot(), modelDir, version))
	}
}

// checkedModel reads a version folder's model.onnx and checks it against
// its model.onnx.sha256.
func checkedModel(t *testing.T, dir string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(dir, "model.onnx.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(data)
	if want := strings.Fields(string(sum)); len(want) == 0 || want[0] != hex.EncodeToString(digest[:]) {
		t.Errorf("%s: model.onnx has sha256 %x, model.onnx.sha256 says %q", dir, digest, sum)
	}
	return data
}

// TestQuantizedModel: version 3 is the int8 graph quantize.py writes (ONNX
// Runtime's dynamic-quantization operators) and at most 35% of version 2's size.
func TestQuantizedModel(t *testing.T) {
	dir := filepath.Join(testutil.RepoRoot(), modelDir)
	v2, err := os.ReadFile(filepath.Join(dir, "2", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	v3, err := os.ReadFile(filepath.Join(dir, "3", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if share := float64(len(v3)) / float64(len(v2)); share > 0.35 {
		t.Errorf("version 3 is %d bytes, %.1f%% of version 2's %d: the goal is at most 35%%", len(v3), 100*share, len(v2))
	}
	// Operator names and domains are plain strings in the ONNX protobuf; a
	// NodeProto's op_type is field 4 (tag 0x22), then the length.
	for _, op := range []string{"DynamicQuantizeLSTM", "MatMulIntegerToFloat", "DynamicQuantizeLinear", "DequantizeLinear", "com.microsoft"} {
		if !bytes.Contains(v3, []byte(op)) {
			t.Errorf("version 3 has no %s", op)
		}
	}
	if bytes.Contains(v3, []byte("\x22\x04LSTM")) || bytes.Contains(v3, []byte("Gemm")) {
		t.Error("version 3 still has a float LSTM or Gemm node")
	}
}

type prediction struct {
	Label         string             `json:"label"`
	Probabilities map[string]float64 `json:"probabilities"`
}

// predict sends texts as one {"instances": [...]} request to a pinned version of sentiment.
func predict(t *testing.T, s *server, version string, texts []string) []prediction {
	t.Helper()
	return predictModel(t, s, "sentiment", version, texts)
}

// predictModel sends texts as one {"instances": [...]} request to a pinned version of a model.
func predictModel(t *testing.T, s *server, model, version string, texts []string) []prediction {
	t.Helper()
	body, err := json.Marshal(map[string]any{"instances": texts})
	if err != nil {
		t.Fatal(err)
	}
	status, header, data := s.do(t, http.MethodPost, "/v1/models/"+model+"/versions/"+version+":predict",
		http.Header{"Apikey": {demoKey}}, string(body))
	if status != http.StatusOK {
		t.Fatalf("predict on %s version %s: %d %s", model, version, status, data)
	}
	if got := header.Get("X-Model-Version"); got != version {
		t.Fatalf("X-Model-Version %q, want %q", got, version)
	}
	var out struct {
		Predictions []prediction `json:"predictions"`
	}
	if err := json.Unmarshal(data, &out); err != nil || len(out.Predictions) != len(texts) {
		t.Fatalf("predict answer %s: %v", data, err)
	}
	return out.Predictions
}

// TestModelQuality runs the committed models behind the real gateway: clear
// sentences get the right label from every version, batched answers equal
// one-by-one answers (the fixed padded length), and the held-out accuracy in
// the model card is reproduced through the sidecar.
func TestModelQuality(t *testing.T) {
	s := startServe(t, testutil.RepoRoot(), "kong.yml")

	t.Run("clear sentences", func(t *testing.T) {
		cases := []struct{ text, label string }{
			{"a wonderful film, I loved every minute of it", "positive"},
			{"Excellent food and very friendly staff.", "positive"},
			{"This phone is great, the battery lasts for days.", "positive"},
			{"The best movie I have seen this year!", "positive"},
			{"Terrible. The worst service I have ever had.", "negative"},
			{"The battery died after a week, what a waste of money.", "negative"},
			{"Boring plot and awful acting, I hated it.", "negative"},
			{"The food was cold and tasteless, never again.", "negative"},
		}
		texts := make([]string, len(cases))
		for i, c := range cases {
			texts[i] = c.text
		}
		for _, version := range versions {
			for i, p := range predict(t, s, version, texts) {
				if p.Label != cases[i].label {
					t.Errorf("version %s labels %q %s (%v), want %s", version, cases[i].text, p.Label, p.Probabilities, cases[i].label)
				}
			}
		}
	})

	t.Run("batched equals unbatched", func(t *testing.T) {
		texts := []string{"good", "a long and rather dull evening at the cinema, but the music was nice", "", "no"}
		batched := predict(t, s, "2", texts)
		for i, text := range texts {
			one := predict(t, s, "2", []string{text})[0]
			for label, p := range one.Probabilities {
				if math.Abs(p-batched[i].Probabilities[label]) > 1e-5 {
					t.Errorf("%q: alone %v, in a batch %v", text, one.Probabilities, batched[i].Probabilities)
				}
			}
		}
		// Version 3 quantizes its activations per batch: its probabilities may move by a
		// rounding step with the batch, its labels on these texts may not.
		batched = predict(t, s, "3", texts)
		for i, text := range texts {
			if one := predict(t, s, "3", []string{text})[0]; one.Label != batched[i].Label {
				t.Errorf("version 3, %q: alone %s %v, in a batch %s %v", text, one.Label, one.Probabilities, batched[i].Label, batched[i].Probabilities)
			}
		}
	})

	t.Run("held-out accuracy", func(t *testing.T) {
		texts, labels := heldOut(t)
		card := modelCardAccuracies(t)
		answers := map[string][]string{}
		for _, version := range versions {
			correct := 0
			for start := 0; start < len(texts); start += 32 {
				end := min(start+32, len(texts))
				for i, p := range predict(t, s, version, texts[start:end]) {
					answers[version] = append(answers[version], p.Label)
					if p.Label == labels[start+i] {
						correct++
					}
				}
			}
			got := float64(correct) / float64(len(texts))
			t.Logf("version %s: held-out accuracy %.4f through the gateway (model card: %.4f)", version, got, card[version])
			// ONNX Runtime and torch round differently: allow a few borderline sentences.
			if math.Abs(got-card[version]) > 0.005 {
				t.Errorf("version %s: held-out accuracy %.4f, model card says %.4f", version, got, card[version])
			}
		}
		// Version 3 is version 2 in int8: the card says how often their labels agree.
		same := 0
		for i := range texts {
			if answers["3"][i] == answers["2"][i] {
				same++
			}
		}
		got, want := float64(same)/float64(len(texts)), quantizedAgreement(t)
		t.Logf("version 3 gives version 2's label to %.4f of the held-out sentences (model card: %.4f)", got, want)
		if math.Abs(got-want) > 0.005 {
			t.Errorf("version 3 agrees with version 2 on %.4f of the held-out sentences, model card says %.4f", got, want)
		}
	})
}

// heldOut reads deploy/train/data/heldout.tsv: the sentences train.py held out.
func heldOut(t *testing.T) (texts, labels []string) {
	t.Helper()
	f, err := os.Open(filepath.Join(testutil.RepoRoot(), "deploy", "train", "data", "heldout.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header: source, label, text
	for sc.Scan() {
		cols := strings.SplitN(sc.Text(), "\t", 3)
		if len(cols) != 3 {
			t.Fatalf("heldout.tsv: bad line %q", sc.Text())
		}
		texts = append(texts, cols[2])
		labels = append(labels, map[string]string{"0": "negative", "1": "positive"}[cols[1]])
	}
	if err := sc.Err(); err != nil || len(texts) == 0 {
		t.Fatalf("heldout.tsv: %v (%d sentences)", err, len(texts))
	}
	return texts, labels
}

// modelCardAccuracies reads the held-out accuracies train.py recorded in
// deploy/train/metrics.json, and checks MODEL_CARD.md states the same ones.
func modelCardAccuracies(t *testing.T) map[string]float64 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "deploy", "train", "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Versions map[string]struct {
			HeldoutAccuracy float64 `json:"heldout_accuracy"`
		} `json:"versions"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	card, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), modelDir, "MODEL_CARD.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for version, v := range m.Versions {
		if !strings.Contains(string(card), fmt.Sprintf("| %s |", version)) || !strings.Contains(string(card), fmt.Sprintf("| %.4f |", v.HeldoutAccuracy)) {
			t.Errorf("MODEL_CARD.md does not state version %s's held-out accuracy %.4f", version, v.HeldoutAccuracy)
		}
		out[version] = v.HeldoutAccuracy
	}
	if len(out) != len(versions) {
		t.Fatalf("metrics.json has versions %v, want %v", out, versions)
	}
	return out
}

// quantizedAgreement reads the share of held-out sentences on which
// quantize.py found version 3 giving version 2's label, and checks
// MODEL_CARD.md states it.
func quantizedAgreement(t *testing.T) float64 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "deploy", "train", "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Versions map[string]struct {
			AgreementWithV2 *float64 `json:"agreement_with_v2"`
		} `json:"versions"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	agreement := m.Versions["3"].AgreementWithV2
	if agreement == nil {
		t.Fatal("metrics.json: version 3 has no agreement_with_v2")
	}
	card, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), modelDir, "MODEL_CARD.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(card), fmt.Sprintf("%.4f of the held-out labels equal version 2's", *agreement)) {
		t.Errorf("MODEL_CARD.md does not state version 3's agreement with version 2, %.4f", *agreement)
	}
	return *agreement
}
