package core

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// TestIndexGivesReasonCodes: the repository index answers a reason code
// for a version that failed to load, never the sidecar's detail (issue 12,
// item 7: paths, digests and ONNX Runtime errors went to every consumer).
func TestIndexGivesReasonCodes(t *testing.T) {
	models := t.TempDir()
	src := filepath.Join(testutil.TestModels(), "adder")
	copyFile := func(from, to string) {
		t.Helper()
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(filepath.Join(src, "config.yaml"), filepath.Join(models, "adder", "config.yaml"))
	copyFile(filepath.Join(src, "1", "model.onnx"), filepath.Join(models, "adder", "1", "model.onnx"))
	copyFile(filepath.Join(src, "1", "model.onnx.sha256"), filepath.Join(models, "adder", "1", "model.onnx.sha256"))
	// Version 2's checksum names other bytes: the sidecar refuses it, and
	// its reason holds both digests and the file's path.
	copyFile(filepath.Join(src, "2", "model.onnx"), filepath.Join(models, "adder", "2", "model.onnx"))
	if err := os.WriteFile(filepath.Join(models, "adder", "2", "model.onnx.sha256"),
		[]byte(strings.Repeat("0", 64)+"  model.onnx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A model whose config.yaml the sidecar refuses.
	if err := os.MkdirAll(filepath.Join(models, "broken", "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(models, "broken", "config.yaml"), []byte("max_batch_size: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	cfg := adderConfig(t)
	cfg.Sidecar.Args = []string{"--models", models, "--ort-lib", testutil.ORTLib(t), "--log-level", "error"}
	g, err := Get(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A repository with a failed model is never ready: wait for the index
	// to settle instead.
	var res protocol.Response
	got := map[string]protocol.IndexEntry{}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		res = call(g, "POST", "/v2/repository/index", keyAlice, "")
		var idx []protocol.IndexEntry
		if res.Status == 200 && json.Unmarshal(res.Body, &idx) == nil {
			clear(got)
			for _, e := range idx {
				got[e.Name+"/"+e.Version] = e
			}
			if got["adder/1"].State == "READY" && got["adder/2"].State == "FAILED" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("index never settled: %d %s", res.Status, res.Body)
		}
	}
	sum, err := os.ReadFile(filepath.Join(src, "1", "model.onnx.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	// A serving version shows where its files came from; a failed one shows nothing.
	adder1 := "sha256:" + strings.Fields(string(sum))[0]
	for key, want := range map[string]protocol.IndexEntry{
		"adder/1": {Name: "adder", Version: "1", State: "READY", Reason: "", Source: "local", Digest: adder1},
		"adder/2": {Name: "adder", Version: "2", State: "FAILED", Reason: reasonLoadFailed},
		"broken/": {Name: "broken", Version: "", State: "UNAVAILABLE", Reason: reasonModelConfig},
	} {
		if got[key] != want {
			t.Errorf("%s: %+v, want %+v", key, got[key], want)
		}
	}
	// The sidecar's reason text (paths, the checksums it compared) stays in the log.
	adder2, err := os.ReadFile(filepath.Join(src, "2", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	actual := sha256.Sum256(adder2)
	for _, leak := range []string{models, "model.onnx", "mismatch", hex.EncodeToString(actual[:]), strings.Repeat("0", 64), "yaml"} {
		if strings.Contains(string(res.Body), leak) {
			t.Errorf("the index shows %q to a client: %s", leak, res.Body)
		}
	}
}
