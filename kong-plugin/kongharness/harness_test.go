package kongharness_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/kong"
	"github.com/modelgate/modelgate/kong-plugin/internal/kongschema"
	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

const apiKey = "mg_test_harness_0123456789"

// sidecarConfig launches the built sidecar over the test models.
func sidecarConfig(t *testing.T) map[string]any {
	return map[string]any{
		"mode":    "launch",
		"command": testutil.Binary(t, "modelgate-sidecar"),
		"args": []string{"--models", testutil.TestModels(),
			"--ort-lib", testutil.ORTLib(t), "--log-level", "warn"},
		"max_message_bytes": 16777216,
	}
}

// pluginConfig is a modelgate config as kong.yml would hold it.
func pluginConfig(t *testing.T) map[string]any {
	sum := sha256.Sum256([]byte(apiKey))
	return map[string]any{
		"sidecar": sidecarConfig(t),
		"limits":  map[string]any{"max_body_bytes": 1 << 20, "default_timeout": "10s"},
		"auth": map[string]any{
			"consumers":     []any{map[string]any{"name": "demo", "tier": "free", "key_sha256": []string{hex.EncodeToString(sum[:])}}},
			"kong_consumer": true,
		},
		"quotas": map[string]any{"policy": "local", "fault_tolerant": true,
			"tiers": []any{map[string]any{"name": "free", "second": 1000, "day": 100000}}},
		"models": []any{map[string]any{
			"name": "adder", "aliases": map[string]string{"stable": "1", "canary": "2"}, "default_alias": "stable",
			"split":  []any{map[string]any{"target": "stable", "weight": 90}, map[string]any{"target": "canary", "weight": 10}},
			"pins":   map[string]string{"demo": "canary"},
			"shadow": map[string]any{"target": "canary", "percent": 0},
		}},
		"metrics": map[string]any{"consumer_labels": false},
	}
}

func TestDumpAndSchema(t *testing.T) {
	info, err := kongharness.Dump(context.Background(), testutil.Binary(t, "modelgate"))
	if err != nil {
		t.Fatal(err)
	}
	p := info.Plugins[0]
	if p.Name != "modelgate" || !reflect.DeepEqual(p.Phases, []string{"access"}) || p.Priority == 0 || p.Version == "" {
		t.Errorf("plugin info %+v", p)
	}
	schema, err := p.ConfigSchema()
	if err != nil {
		t.Fatal(err)
	}
	// `modelgate check` derives the schema in process, as go-pdk does.
	if own := kongschema.Of(kong.New()); !reflect.DeepEqual(own, schema) {
		t.Errorf("kongschema.Of differs from the schema -dump prints:\n%+v\n%+v", own, schema)
	}
	if err := kongharness.CheckConfig(schema, pluginConfig(t)); err != nil {
		t.Errorf("the example config fails the schema: %v", err)
	}
	bad := pluginConfig(t)
	bad["sidecar"].(map[string]any)["timeout"] = "1s"          // unknown field
	bad["limits"].(map[string]any)["max_body_bytes"] = 1.5     // not an integer
	bad["models"].([]any)[0].(map[string]any)["aliases"] = "x" // not a map
	bad["metrics"].(map[string]any)["consumer_labels"] = "no"  // not a boolean
	bad["metrics"].(map[string]any)["addr"] = ""               // Kong refuses empty strings
	bad["quotas"] = nil                                        // a required record
	err = kongharness.CheckConfig(schema, bad)
	for _, want := range []string{
		"config.sidecar.timeout: unknown field",
		"config.limits.max_body_bytes: expected an integer",
		"config.models[0].aliases: expected a map",
		"config.metrics.consumer_labels: expected a boolean",
		"config.metrics.addr: length must be at least 1",
		"config.quotas: required field missing",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

// TestAsKongDrivesIt runs the real plugin server over Kong's socket
// protocol, through a real sidecar and ONNX Runtime.
func TestAsKongDrivesIt(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, kongharness.Options{})
	inst, err := srv.StartInstance(ctx, "modelgate", pluginConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	consumers := map[string]kongharness.Consumer{"demo": {ID: "c0ffee", Username: "demo"}}
	waitReady(t, srv, inst.ID)

	body := []byte(`{"inputs":[{"name":"a","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]},
	  {"name":"b","datatype":"FP32","shape":[1,4],"data":[10,20,30,40]}]}`)
	hdr := http.Header{"Apikey": {apiKey}, "Content-Type": {"application/json"}}
	for _, bufferSize := range []int{0, 16} { // in memory, and spilled to a file as nginx does
		res, err := srv.Access(ctx, inst.ID, kongharness.Request{Method: "POST", Path: "/v2/models/adder/infer",
			Header: hdr, Body: body, Consumers: consumers, BodyBufferSize: bufferSize})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Exited || res.Status != 200 || res.Header.Get("X-Model-Version") != "2" || !strings.Contains(string(res.Body), `[12,23,34,45]`) {
			t.Fatalf("infer (buffer %d): %+v %s", bufferSize, res, res.Body)
		}
		want := []string{"kong.request.get_method", "kong.request.get_path_with_query", "kong.request.get_headers",
			"kong.request.get_raw_body", "kong.client.load_consumer", "kong.client.authenticate", "kong.response.exit"}
		if !reflect.DeepEqual(res.Calls, want) {
			t.Errorf("PDK calls %v, want %v", res.Calls, want)
		}
		if res.Authenticated == nil || res.Authenticated.Username != "demo" {
			t.Errorf("kong.client.authenticate got %+v", res.Authenticated)
		}
	}

	res, err := srv.Access(ctx, inst.ID, kongharness.Request{Method: "POST", Path: "/v2/models/adder/infer", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 401 || res.Header.Get("Www-Authenticate") == "" || res.Authenticated != nil {
		t.Errorf("no key: %+v %s", res, res.Body)
	}
	var e struct{ Error string }
	if json.Unmarshal(res.Body, &e) != nil || e.Error == "" {
		t.Errorf("401 body %s", res.Body)
	}

	// A second instance with the same config shares the gateway (and its
	// sidecar): it answers at once.
	inst2, err := srv.StartInstance(ctx, "modelgate", pluginConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if inst2.ID == inst.ID {
		t.Error("two instances, one id")
	}
	if err := srv.CloseInstance(ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
	res, err = srv.Access(ctx, inst2.ID, kongharness.Request{Method: "GET", Path: "/v2/models/adder/versions/1/ready", Header: hdr, Consumers: consumers})
	if err != nil || res.Status != 200 {
		t.Fatalf("second instance: %v %+v", err, res)
	}
	if got := strings.Join(res.Calls, ","); strings.Contains(got, "get_raw_body") {
		t.Errorf("a GET read the body: %s", got)
	}

	// Kong sends every field its schema knows, null where kong.yml had none.
	schema := dumpedSchema(t)
	sparse := pluginConfig(t)
	delete(sparse, "metrics")
	delete(sparse["limits"].(map[string]any), "default_timeout")
	delete(sparse["models"].([]any)[0].(map[string]any), "shadow")
	full, err := kongharness.WithKongNulls(schema, sparse)
	if err != nil {
		t.Fatal(err)
	}
	if full["metrics"].(map[string]any)["addr"] != nil || full["models"].([]any)[0].(map[string]any)["allow_tiers"] != nil {
		t.Fatalf("nulls not filled: %v", full)
	}
	inst3, err := srv.StartInstance(ctx, "modelgate", full)
	if err != nil {
		t.Fatal(err)
	}
	res, err = srv.Access(ctx, inst3.ID, kongharness.Request{Method: "POST", Path: "/v2/models/adder/infer",
		Header: hdr, Body: body, Consumers: consumers})
	if err != nil || res.Status != 200 {
		t.Fatalf("null-filled config: %v %+v %s", err, res, res.Body)
	}

	// A config go-pdk cannot decode is refused at start_instance.
	broken := pluginConfig(t)
	broken["models"] = "adder"
	if _, err := srv.StartInstance(ctx, "modelgate", broken); err == nil {
		t.Error("a config with models as a string was accepted")
	}
}

// dumpedSchema is the config schema `modelgate -dump` gives Kong.
func dumpedSchema(t *testing.T) kongharness.Field {
	t.Helper()
	info, err := kongharness.Dump(context.Background(), testutil.Binary(t, "modelgate"))
	if err != nil {
		t.Fatal(err)
	}
	schema, err := info.Plugins[0].ConfigSchema()
	if err != nil {
		t.Fatal(err)
	}
	return schema
}

// startServer starts the modelgate plugin server as Kong would, its log in
// the test log, and closes it (checking the close) when the test ends.
func startServer(t *testing.T, opts kongharness.Options) *kongharness.Server {
	t.Helper()
	opts.Output = testWriter{t}
	// The configs name --ort-lib $ORT_LIB, which the plugin allows only
	// when its environment has ORT_LIB: passed as the image passes it
	// (Dockerfile). A test's own KONG_NGINX_MAIN_ENV comes later and wins.
	testutil.ORTLib(t)
	opts.Env = append([]string{"KONG_NGINX_MAIN_ENV=ORT_LIB; env MODELGATE_SECRET_DIRS"}, opts.Env...)
	srv, err := kongharness.Start(context.Background(), testutil.Binary(t, "modelgate"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return srv
}

func waitReady(t *testing.T, srv *kongharness.Server, id int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := srv.WaitReady(ctx, id); err != nil {
		t.Fatal(err)
	}
}

// testWriter sends the plugin server's log to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
