package core

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

// TestGetMetricsAddrTaken: a metrics.addr that cannot be listened on refuses
// the config before its sidecar is started, so no sidecar is left running
// for a gateway that was never stored.
func TestGetMetricsAddrTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := config.Config{
		Sidecar: testSidecar(t, "--max-elements", "4242"), // a section of its own
		Metrics: config.Metrics{Addr: ln.Addr().String()},
	}
	if _, err := Get(&cfg); err == nil || !strings.Contains(err.Error(), "metrics.addr") {
		t.Fatalf("Get with a taken metrics.addr = %v", err)
	}
	registry.mu.Lock()
	_, started := registry.sidecars[config.Key(cfg.WithDefaults().Sidecar)]
	registry.mu.Unlock()
	if started {
		t.Error("the sidecar of a refused config was started")
	}
}
