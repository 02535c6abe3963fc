package kong

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Kong/go-pdk/test"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
	"github.com/modelgate/modelgate/kong-plugin/internal/config"
)

const testKey = "mg_test_adapter_0123456789"

func testConfig(t *testing.T, kongConsumer bool) *Config {
	t.Helper()
	sum := sha256.Sum256([]byte(testKey))
	c := Config(config.Config{
		Sidecar: config.Sidecar{
			Mode:    "launch",
			Command: testutil.Binary(t, "modelgate-sidecar"),
			Args: []string{"--models", testutil.TestModels(),
				"--ort-lib", testutil.ORTLib(t), "--log-level", "warn"},
		},
		Auth: auth.Config{
			Consumers:    []auth.Consumer{{Name: "demo", Tier: "free", KeySHA256: []string{hex.EncodeToString(sum[:])}}},
			KongConsumer: kongConsumer,
		},
		Models: []config.Model{{Name: "adder", Aliases: map[string]string{"stable": "2"}, DefaultAlias: "stable"}},
	})
	return &c
}

// access runs the plugin's access phase in go-pdk's simulated Kong.
func access(t *testing.T, cfg *Config, req test.Request) test.Response {
	t.Helper()
	env, err := test.New(t, req)
	if err != nil {
		t.Fatal(err)
	}
	env.DoAccess(cfg)
	return env.ClientRes
}

const adderBody = `{"inputs":[{"name":"a","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]},
  {"name":"b","datatype":"FP32","shape":[1,4],"data":[10,20,30,40]}]}`

func waitReady(t *testing.T, cfg *Config) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res := access(t, cfg, test.Request{Method: "GET", Url: "http://kong/v2/health/ready"})
		if res.Status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %d %s", res.Status, res.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAccess(t *testing.T) {
	for _, kongConsumer := range []bool{false, true} {
		cfg := testConfig(t, kongConsumer)
		waitReady(t, cfg)
		tests := []struct {
			name   string
			req    test.Request
			status int
			check  func(test.Response) bool
		}{
			{"inference", test.Request{Method: "POST", Url: "http://kong/v2/models/adder/infer?x=1",
				Headers: http.Header{"Apikey": {testKey}, "Content-Type": {"application/json"}}, Body: []byte(adderBody)},
				200, func(r test.Response) bool {
					return r.Headers.Get("X-Model-Version") == "2" && strings.Contains(string(r.Body), `"data":[12,23,34,45]`)
				}},
			{"no credential", test.Request{Method: "POST", Url: "http://kong/v2/models/adder/infer", Body: []byte(adderBody)},
				401, func(r test.Response) bool {
					return r.Headers.Get("WWW-Authenticate") != "" && strings.Contains(string(r.Body), `"error"`)
				}},
			{"unknown path", test.Request{Method: "GET", Url: "http://kong/nothing", Headers: http.Header{"Apikey": {testKey}}},
				404, func(r test.Response) bool { return r.Headers.Get("Content-Type") == "application/json" }},
		}
		for _, tt := range tests {
			res := access(t, cfg, tt.req)
			if res.Status != tt.status || !tt.check(res) {
				t.Errorf("kong_consumer=%v %s: %d %v %s", kongConsumer, tt.name, res.Status, res.Headers, res.Body)
			}
		}
	}
}

// TestMisconfiguredPluginAnswers500: a config the gateway refuses is a 500
// JSON answer and a log line, not a crash of the plugin server.
func TestMisconfiguredPluginAnswers500(t *testing.T) {
	cfg := Config(config.Config{Sidecar: config.Sidecar{Mode: "teleport"}})
	res := access(t, &cfg, test.Request{Method: "GET", Url: "http://kong/v2/health/live"})
	if res.Status != http.StatusInternalServerError || !strings.Contains(string(res.Body), "misconfigured") {
		t.Errorf("%d %s", res.Status, res.Body)
	}
}
