package serve

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/core"
)

// TestAccessLog: one JSON line per request, the gateway's audit record with
// the privacy findings for the requests it answered, the status for those
// serve answered itself, and never the text.
func TestAccessLog(t *testing.T) {
	dir := t.TempDir()
	const key = "mg_test_accesslog_0123456789"
	sum := sha256.Sum256([]byte(key))
	path := writeFile(t, dir, "kong.yml", `_format_version: "3.0"
routes:
  - name: models
    paths: [/v1/, /v2/]
plugins:
  - name: modelgate
    config:
      sidecar:
        mode: launch
        command: `+testutil.Binary(t, "modelgate-sidecar")+`
        args: [--models, `+testutil.TestModels()+`, --ort-lib, `+testutil.ORTLib(t)+`, --log-level, warn]
      auth:
        consumers: [{name: alice, tier: gold, key_sha256: [`+hex.EncodeToString(sum[:])+`]}]
      quotas:
        tiers: [{name: gold}]
      privacy:
        detectors: [email]
        action: mask
`)
	f, plugins, err := load(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(core.Shutdown)
	rt, err := provision(path, f, plugins, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	alog := &accessLog{out: &out}
	srv := httptest.NewServer(alog.wrap(handler{router: rt, bodyTimeout: 10 * time.Second}))
	defer srv.Close()
	if err := waitReady(t.Context(), plugins, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	out.Reset() // waitReady asked the gateway, not the server

	req, _ := http.NewRequest("POST", srv.URL+"/v1/models/text_sentiment:predict",
		strings.NewReader(`{"instances":["mail ana.silva@example.com", "great film"]}`))
	req.Header.Set("apikey", key)
	for _, r := range []*http.Request{req, httptest.NewRequest("GET", srv.URL+"/nowhere", nil)} {
		r.RequestURI = ""
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || strings.Contains(out.String(), "ana.silva") || strings.Contains(out.String(), "great film") {
		t.Fatalf("access log:\n%s", out.String())
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if first["time"] == nil || first["latency_ms"].(float64) <= 0 {
		t.Errorf("time and latency: %s", lines[0])
	}
	delete(first, "time")
	delete(first, "latency_ms")
	want := map[string]any{"consumer": "alice", "model": "text_sentiment", "version": "1", "status": 200.0, "items": 2.0,
		"action": "mask", "findings": map[string]any{"email": 1.0}}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("line %s, want %v", lines[0], want)
	}
	if second["status"] != 404.0 || second["consumer"] != "" {
		t.Errorf("no route: %s", lines[1])
	}
}
