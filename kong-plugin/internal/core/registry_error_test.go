package core

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
	"github.com/modelgate/modelgate/kong-plugin/internal/config"
)

// TestGetCachesErrors: a config refused once stays refused for that config
// object without being built again (its key files are not read again), so a
// misconfigured plugin instance costs one log line, not one per request. An
// equal config in a new object (Kong's next instance) is built afresh.
func TestGetCachesErrors(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "hmac.key")
	cfg := config.Config{
		Sidecar: testSidecar(t),
		Auth: auth.Config{JWT: []auth.Issuer{{
			Issuer: "https://issuer.test", Algorithms: []string{"HS256"}, Secret: "file:" + secretFile,
		}}},
	}
	first := cfg
	_, err1 := Get(&first)
	if err1 == nil || !strings.Contains(err1.Error(), "hmac.key") {
		t.Fatalf("Get with a missing secret file = %v, want an error naming it", err1)
	}
	if err := os.WriteFile(secretFile, []byte(strings.Repeat("k", 64)), 0o600); err != nil {
		t.Fatal(err)
	}
	if g, err := Get(&first); g != nil || err != err1 {
		t.Fatalf("second Get on the same object = %v, %v; want the cached error %v", g, err, err1)
	}
	again := cfg
	if g, err := Get(&again); err != nil || g == nil {
		t.Fatalf("Get on a new object once the file exists = %v, %v", g, err)
	}
}

// TestGetMetricsAddrTaken: during `kong reload` the old plugin server still
// holds metrics.addr when the new one builds its gateway. That is no config
// error: Get succeeds and the request is served, and /metrics is taken over
// in the background once the old holder lets go.
func TestGetMetricsAddrTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	cfg := adderConfig(t)
	cfg.Sidecar = testSidecar(t, "--max-elements", "4242") // a section of its own
	cfg.Metrics = config.Metrics{Addr: addr}
	g := startGateway(t, cfg)
	if res := call(g, "POST", "/v2/models/adder/versions/1/infer", keyBob, adderBody); res.Status != http.StatusOK {
		t.Fatalf("request while metrics.addr is taken: %d %s", res.Status, res.Body)
	}
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	var body []byte
	for !strings.Contains(string(body), "modelgate_sidecar_up 1") {
		time.Sleep(100 * time.Millisecond)
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue // not taken over yet; the test's own timeout bounds the wait
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
}

// TestMetricsAddrMalformed: an address no listen can ever take is a config
// error, not something to retry forever.
func TestMetricsAddrMalformed(t *testing.T) {
	for _, addr := range []string{"9542", "localhost", ":http-alt", ":70000"} {
		cfg := config.Config{Sidecar: testSidecar(t), Metrics: config.Metrics{Addr: addr}}
		if _, err := Get(&cfg); err == nil || !strings.Contains(err.Error(), "metrics.addr") {
			t.Errorf("metrics.addr %q: Get = %v, want a metrics.addr error", addr, err)
		}
	}
}
