package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/apis"
	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/kong-plugin/internal/quota"
)

// testSidecar launches the real sidecar on the test model repository.
// Tests with the same section share one sidecar process (the registry
// keys sidecars by content); extra args make a private one.
func testSidecar(t testing.TB, extra ...string) config.Sidecar {
	t.Helper()
	return config.Sidecar{
		Mode:    "launch",
		Command: testutil.Binary(t, "modelgate-sidecar"),
		Args: append([]string{"--models", testutil.TestModels(),
			"--ort-lib", testutil.ORTLib(t), "--log-level", "warn"}, extra...),
		CheckInterval: "100ms",
	}
}

// Test API keys and their consumers.
const (
	keyAlice = "mg_test_alice_0123456789"
	keyBob   = "mg_test_bob_0123456789"
	keyCarol = "mg_test_carol_0123456789" // tier tiny: 2 requests a day (a day window, so no boundary falls mid-test)
)

func digest(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

func testAuth() (auth.Config, quota.Config) {
	return auth.Config{Consumers: []auth.Consumer{
			{Name: "alice", Tier: "gold", KeySHA256: []string{digest(keyAlice)}},
			{Name: "bob", Tier: "free", KeySHA256: []string{digest(keyBob)}},
			{Name: "carol", Tier: "tiny", KeySHA256: []string{digest(keyCarol)}},
		}}, quota.Config{Policy: "local", Tiers: []quota.Tier{
			{Name: "gold"},
			{Name: "free", Day: 100000},
			{Name: "tiny", Day: 2},
		}}
}

// startGateway builds the gateway for cfg and waits until its sidecar is ready.
func startGateway(t testing.TB, cfg config.Config) *Gateway {
	t.Helper()
	g, err := Get(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res := g.Handle(context.Background(), apis.Router, protocol.Request{Method: "GET", Path: "/v2/health/ready"})
		if res.Status == http.StatusOK {
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("sidecar not ready after 2 minutes: %d %s", res.Status, res.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func call(g *Gateway, method, path, key string, body string) protocol.Response {
	h := http.Header{}
	if key != "" {
		h.Set("apikey", key)
	}
	if body != "" {
		h.Set("Content-Type", "application/json")
	}
	return g.Handle(context.Background(), apis.Router, protocol.Request{Method: method, Path: path, Header: h, Body: []byte(body)})
}

// modelMetaJSON is the part of an OIP model metadata answer the tests read.
type modelMetaJSON struct {
	Name   string            `json:"name"`
	Inputs []json.RawMessage `json:"inputs"`
}

// inferResult is an OIP answer decoded generically.
type inferResult struct {
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	Outputs      []struct {
		Name     string          `json:"name"`
		Datatype string          `json:"datatype"`
		Shape    []int64         `json:"shape"`
		Data     json.RawMessage `json:"data"`
	} `json:"outputs"`
}

func decodeResult(t *testing.T, res protocol.Response) inferResult {
	t.Helper()
	if res.Status != http.StatusOK {
		t.Fatalf("status %d: %s", res.Status, res.Body)
	}
	var r inferResult
	if err := json.Unmarshal(res.Body, &r); err != nil {
		t.Fatalf("answer %s: %v", res.Body, err)
	}
	return r
}

func (r inferResult) output(t *testing.T, name string) json.RawMessage {
	t.Helper()
	for _, o := range r.Outputs {
		if o.Name == name {
			return o.Data
		}
	}
	t.Fatalf("no output %q in %+v", name, r)
	return nil
}

// adderBody asks the adder for a+b with a = [1,2,3,4], b = [10,20,30,40]:
// version v answers sum = a + b + (v - 1).
const adderBody = `{"inputs":[{"name":"a","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]},
  {"name":"b","datatype":"FP32","shape":[1,4],"data":[[10,20,30,40]]}],"outputs":[{"name":"sum"}]}`

// adderVersion tells which adder version answered from its sum.
func adderVersion(t *testing.T, r inferResult) string {
	t.Helper()
	var sum []float64
	if err := json.Unmarshal(r.output(t, "sum"), &sum); err != nil || len(sum) != 4 {
		t.Fatalf("sum %s: %v", r.output(t, "sum"), err)
	}
	return map[float64]string{11: "1", 12: "2", 13: "3"}[sum[0]]
}

// header reads a header whatever the case its writer used (the quota
// package keeps Kong's spelling, e.g. "RateLimit-Remaining").
func header(h http.Header, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
