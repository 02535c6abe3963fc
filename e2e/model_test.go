package e2e

import (
	"bufio"
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

// TestModelChecksums: each committed model.onnx matches its model.onnx.sha256.
func TestModelChecksums(t *testing.T) {
	for _, version := range []string{"1", "2"} {
		dir := filepath.Join(testutil.RepoRoot(), modelDir, version)
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
			t.Errorf("version %s: model.onnx has sha256 %x, model.onnx.sha256 says %q", version, digest, sum)
		}
	}
}

type prediction struct {
	Label         string             `json:"label"`
	Probabilities map[string]float64 `json:"probabilities"`
}

// predict sends texts as one {"instances": [...]} request to a pinned version.
func predict(t *testing.T, s *server, version string, texts []string) []prediction {
	t.Helper()
	body, err := json.Marshal(map[string]any{"instances": texts})
	if err != nil {
		t.Fatal(err)
	}
	status, header, data := s.do(t, http.MethodPost, "/v1/models/sentiment/versions/"+version+":predict",
		http.Header{"Apikey": {demoKey}}, string(body))
	if status != http.StatusOK {
		t.Fatalf("predict on version %s: %d %s", version, status, data)
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
// sentences get the right label from both versions, batched answers equal
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
		for _, version := range []string{"1", "2"} {
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
	})

	t.Run("held-out accuracy", func(t *testing.T) {
		texts, labels := heldOut(t)
		card := modelCardAccuracies(t)
		for _, version := range []string{"1", "2"} {
			correct := 0
			for start := 0; start < len(texts); start += 32 {
				end := min(start+32, len(texts))
				for i, p := range predict(t, s, version, texts[start:end]) {
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
	if len(out) != 2 {
		t.Fatalf("metrics.json has versions %v, want 1 and 2", out)
	}
	return out
}
