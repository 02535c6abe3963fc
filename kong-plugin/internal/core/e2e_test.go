package core

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/apis"
	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

func adderConfig(t testing.TB) config.Config {
	a, q := testAuth()
	return config.Config{
		Sidecar: testSidecar(t),
		Auth:    a,
		Quotas:  q,
		Models: []config.Model{{
			Name:         "adder",
			Aliases:      map[string]string{"stable": "1", "canary": "2"},
			DefaultAlias: "stable",
			Split:        []config.SplitTarget{{Target: "stable", Weight: 50}, {Target: "canary", Weight: 50}},
			Pins:         map[string]string{"alice": "3"},
		}, {
			Name:           "tiny_classifier",
			AllowConsumers: []string{"alice"},
		}},
	}
}

// TestRoutingThroughTheSidecar checks version precedence end to end: the
// adder's versions answer differently, so the sum says which one served.
func TestRoutingThroughTheSidecar(t *testing.T) {
	g := startGateway(t, adderConfig(t))
	tests := []struct {
		name, path, key, version string
	}{
		{"explicit version beats the pin", "/v2/models/adder/versions/2/infer", keyAlice, "2"},
		{"pin beats the split", "/v2/models/adder/infer", keyAlice, "3"},
		{"kept route prefix", "/ml/v2/models/adder/versions/1/infer", keyBob, "1"},
	}
	for _, tt := range tests {
		res := call(g, "POST", tt.path, tt.key, adderBody)
		r := decodeResult(t, res)
		if got := adderVersion(t, r); got != tt.version {
			t.Errorf("%s: version %s answered, want %s", tt.name, got, tt.version)
		}
		if h := res.Header.Get("X-Model-Version"); h != tt.version || r.ModelVersion != tt.version {
			t.Errorf("%s: X-Model-Version %q, model_version %q, want %s", tt.name, h, r.ModelVersion, tt.version)
		}
	}
	// Bob is not pinned: the split decides, and keeps deciding the same way.
	first := adderVersion(t, decodeResult(t, call(g, "POST", "/v2/models/adder/infer", keyBob, adderBody)))
	for i := 0; i < 5; i++ {
		if v := adderVersion(t, decodeResult(t, call(g, "POST", "/v2/models/adder/infer", keyBob, adderBody))); v != first {
			t.Fatalf("split not sticky: %s then %s", first, v)
		}
	}
	want := sentimentLikeSplit(g, "bob")
	if first != want {
		t.Errorf("bob got %s, the split says %s", first, want)
	}
}

// TestVersionSourceHeader: X-Model-Version-Source says what chose the
// version, for each step of the precedence that a request can reach here.
func TestVersionSourceHeader(t *testing.T) {
	g := startGateway(t, adderConfig(t))
	for _, tt := range []struct{ path, key, body, source string }{
		{"/v2/models/adder/versions/2/infer", keyBob, adderBody, sourceURL},
		{"/v2/models/adder/infer", keyAlice, adderBody, sourcePin},
		{"/v2/models/adder/infer", keyBob, adderBody, sourceSplit},
		{"/v1/models/adder/labels/canary:predict", keyBob, `{"instances":[{"a":[1,2,3,4],"b":[10,20,30,40]}]}`, sourceLabel},
	} {
		res := call(g, "POST", tt.path, tt.key, tt.body)
		if res.Status != http.StatusOK || res.Header.Get("X-Model-Version-Source") != tt.source {
			t.Errorf("%s as %s: %d, X-Model-Version-Source %q, want %q (%s)", tt.path, tt.key, res.Status,
				res.Header.Get("X-Model-Version-Source"), tt.source, res.Body)
		}
	}
}

func sentimentLikeSplit(g *Gateway, consumer string) string {
	v, _, _ := g.routing.model("adder").resolve(protocol.InferRequest{Model: "adder"}, consumer, consumer)
	return v
}

// TestEveryDatatypeRoundTrips sends each datatype through JSON -> raw bytes
// -> the identity model in ONNX Runtime -> raw bytes -> JSON.
func TestEveryDatatypeRoundTrips(t *testing.T) {
	g := startGateway(t, adderConfig(t))
	data := map[string]string{
		"FP32": `[1.5,-2.25]`, "FP64": `[0.1,-1e+300]`, "FP16": `[0.5,-2]`,
		"INT8": `[-128,127]`, "INT16": `[-32768,32767]`, "INT32": `[-2147483648,2147483647]`,
		"INT64": `[-9223372036854775808,9223372036854775807]`,
		"UINT8": `[0,255]`, "UINT16": `[0,65535]`, "UINT32": `[0,4294967295]`, "UINT64": `[0,18446744073709551615]`,
		"BOOL": `[true,false]`, "BYTES": `["héllo","\"quoted\""]`,
	}
	var inputs []string
	for dt, d := range data {
		inputs = append(inputs, fmt.Sprintf(`{"name":"in_%s","datatype":"%s","shape":[1,2],"data":%s}`, strings.ToLower(dt), dt, d))
	}
	res := call(g, "POST", "/v2/models/identity_types/infer", keyAlice, `{"inputs":[`+strings.Join(inputs, ",")+`]}`)
	r := decodeResult(t, res)
	for dt, d := range data {
		got := r.output(t, "out_"+strings.ToLower(dt))
		var want, have any
		_ = json.Unmarshal([]byte(d), &want)
		_ = json.Unmarshal(got, &have)
		if fmt.Sprint(want) != fmt.Sprint(have) {
			t.Errorf("%s: sent %s, got back %s", dt, d, got)
		}
	}
	// Integers beyond float64's precision come back exactly.
	if got := string(r.output(t, "out_uint64")); got != `[0,18446744073709551615]` {
		t.Errorf("UINT64 came back as %s", got)
	}
}

func TestPredictTextClassifier(t *testing.T) {
	g := startGateway(t, adderConfig(t))
	res := call(g, "POST", "/v1/models/text_sentiment:predict", keyBob, `{"instances":["a wonderful great film","a terrible boring movie"]}`)
	if res.Status != http.StatusOK {
		t.Fatalf("status %d: %s", res.Status, res.Body)
	}
	var out struct {
		Predictions []struct {
			Label         string             `json:"label"`
			Probabilities map[string]float64 `json:"probabilities"`
		} `json:"predictions"`
	}
	if err := json.Unmarshal(res.Body, &out); err != nil {
		t.Fatalf("%s: %v", res.Body, err)
	}
	if len(out.Predictions) != 2 || out.Predictions[0].Label != "positive" || out.Predictions[1].Label != "negative" {
		t.Fatalf("predictions %s", res.Body)
	}
	p := out.Predictions[0].Probabilities
	if s := p["positive"] + p["negative"]; s < 0.99 || s > 1.01 || p["positive"] < 0.5 {
		t.Errorf("probabilities %v", p)
	}
	if res.Header.Get("X-Model-Version") != "1" {
		t.Errorf("X-Model-Version %q", res.Header.Get("X-Model-Version"))
	}
	one := call(g, "POST", "/v1/models/text_sentiment:predict", keyBob, `{"text":"very good"}`)
	if one.Status != http.StatusOK || !strings.Contains(string(one.Body), `"label":"positive"`) {
		t.Errorf("text: %d %s", one.Status, one.Body)
	}
	// A model without labels answers its outputs per instance.
	adder := call(g, "POST", "/v1/models/adder/versions/1:predict", keyBob, `{"instances":[{"a":[1,2,3,4],"b":[1,1,1,1]}]}`)
	if adder.Status != http.StatusOK || string(adder.Body) != `{"predictions":[{"sum":[2,3,4,5],"diff":[0,1,2,3]}]}` {
		t.Errorf("adder predict: %d %s", adder.Status, adder.Body)
	}
}

// TestClientErrors: every client mistake is a 4xx with {"error": ...} and
// the headers clients rely on.
func TestClientErrors(t *testing.T) {
	cfg := adderConfig(t)
	cfg.Limits.MaxBodyBytes = 4096
	g := startGateway(t, cfg)
	tests := []struct {
		name, method, path, key, body string
		status                        int
		header                        string
	}{
		{"no credential", "POST", "/v2/models/adder/infer", "", adderBody, 401, "Www-Authenticate"},
		{"wrong key", "POST", "/v2/models/adder/infer", "nope", adderBody, 401, "Www-Authenticate"},
		{"not on the allow list", "POST", "/v2/models/tiny_classifier/infer", keyBob, adderBody, 403, ""},
		{"body over the limit", "POST", "/v2/models/adder/infer", keyBob, `{"inputs":"` + strings.Repeat("x", 5000) + `"}`, 413, ""},
		{"malformed JSON", "POST", "/v2/models/adder/infer", keyBob, `{"inputs":[`, 400, ""},
		{"shape and data disagree", "POST", "/v2/models/adder/infer", keyBob, strings.Replace(adderBody, "[1,2,3,4]", "[1,2,3]", 1), 400, ""},
		{"sidecar refuses the shape", "POST", "/v2/models/adder/versions/1/infer", keyBob, strings.ReplaceAll(strings.ReplaceAll(adderBody, "[1,4]", "[1,2]"), "[1,2,3,4]", "[1,2]"), 400, ""},
		{"unknown model", "POST", "/v2/models/nosuch/infer", keyBob, adderBody, 404, ""},
		{"unknown version", "POST", "/v2/models/adder/versions/9/infer", keyBob, adderBody, 404, ""},
		{"unknown label", "POST", "/v1/models/adder/labels/beta:predict", keyBob, `{"instances":[1]}`, 404, ""},
		{"path walking", "POST", "/v2/models/../infer", keyBob, adderBody, 400, ""},
		{"wrong method", "GET", "/v2/models/adder/infer", keyBob, "", 405, "Allow"},
		{"no such endpoint", "GET", "/admin", keyBob, "", 404, ""},
	}
	for _, tt := range tests {
		res := call(g, tt.method, tt.path, tt.key, tt.body)
		var body struct {
			Error string `json:"error"`
		}
		if res.Status != tt.status || json.Unmarshal(res.Body, &body) != nil || body.Error == "" {
			t.Errorf("%s: %d %s, want %d with an error body", tt.name, res.Status, res.Body, tt.status)
		}
		if tt.header != "" && res.Header.Get(tt.header) == "" {
			t.Errorf("%s: no %s header in %v", tt.name, tt.header, res.Header)
		}
		if res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type %q", tt.name, res.Header.Get("Content-Type"))
		}
	}
}

func TestQuotaHeadersAnd429(t *testing.T) {
	g := startGateway(t, adderConfig(t))
	for i := 0; i < 2; i++ {
		res := call(g, "POST", "/v2/models/adder/versions/1/infer", keyCarol, adderBody)
		if res.Status != http.StatusOK || header(res.Header, "X-RateLimit-Limit-Day") != "2" ||
			header(res.Header, "RateLimit-Remaining") != fmt.Sprint(1-i) {
			t.Fatalf("request %d: %d %v", i, res.Status, res.Header)
		}
	}
	res := call(g, "POST", "/v2/models/adder/versions/1/infer", keyCarol, adderBody)
	if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" ||
		header(res.Header, "RateLimit-Remaining") != "0" || !strings.Contains(string(res.Body), "rate limit") {
		t.Errorf("third request: %d %v %s", res.Status, res.Header, res.Body)
	}
	// The same config content is the same gateway: its counters survive a
	// new Kong plugin instance.
	again := startGateway(t, adderConfig(t))
	if again != g {
		t.Error("equal configs gave different gateways")
	}
	if res := call(again, "POST", "/v2/models/adder/versions/1/infer", keyCarol, adderBody); res.Status != http.StatusTooManyRequests {
		t.Errorf("quota reset by a new instance: %d", res.Status)
	}
}

func TestMetadataReadyAndIndex(t *testing.T) {
	g := startGateway(t, adderConfig(t))
	res := call(g, "GET", "/v2/models/adder/versions/2", keyBob, "")
	var meta modelMetaJSON
	if res.Status != 200 || json.Unmarshal(res.Body, &meta) != nil || meta.Name != "adder" || len(meta.Inputs) != 2 {
		t.Errorf("metadata: %d %s", res.Status, res.Body)
	}
	if res := call(g, "GET", "/v2/models/adder/versions/3/ready", keyBob, ""); res.Status != 200 {
		t.Errorf("ready: %d %s", res.Status, res.Body)
	}
	if res := call(g, "GET", "/v2/health/live", "", ""); res.Status != 200 || string(res.Body) != `{"live":true}` {
		t.Errorf("live: %d %s", res.Status, res.Body)
	}
	for _, tt := range []struct {
		key       string
		seesTiny  bool
		seesAdder bool
	}{{keyAlice, true, true}, {keyBob, false, true}} {
		res := call(g, "POST", "/v2/repository/index", tt.key, `{"ready":true}`)
		var idx []protocol.IndexEntry
		if res.Status != 200 || json.Unmarshal(res.Body, &idx) != nil {
			t.Fatalf("index: %d %s", res.Status, res.Body)
		}
		names := map[string]bool{}
		for _, e := range idx {
			names[e.Name] = true
			// A version from the models folder: its model file's sha256, as its .sha256 states it.
			sum, err := os.ReadFile(filepath.Join(testutil.TestModels(), e.Name, e.Version, "model.onnx.sha256"))
			if err != nil {
				t.Fatal(err)
			}
			if want := "sha256:" + strings.Fields(string(sum))[0]; e.Source != "local" || e.Digest != want {
				t.Errorf("index entry %s/%s: source %q, digest %q; want local, %s", e.Name, e.Version, e.Source, e.Digest, want)
			}
		}
		if names["tiny_classifier"] != tt.seesTiny || names["adder"] != tt.seesAdder {
			t.Errorf("index for %s lists %v", tt.key, names)
		}
	}
}

// TestContentTypes: JSON bodies arrive under several types (curl -d sends
// form-urlencoded), and application/octet-stream, which Triton's client may
// send with binary tensor data; a body that says it is something else is a 415.
func TestContentTypes(t *testing.T) {
	g := startGateway(t, adderConfig(t))
	for _, tt := range []struct {
		ct     string
		status int
	}{
		{"application/json; charset=utf-8", 200},
		{"application/x-www-form-urlencoded", 200},
		{"", 200},
		{"application/octet-stream", 200},
		{"multipart/form-data; boundary=x", 415},
	} {
		h := http.Header{"Apikey": {keyBob}}
		if tt.ct != "" {
			h.Set("Content-Type", tt.ct)
		}
		res := g.Handle(context.Background(), apis.Router, protocol.Request{Method: "POST", Path: "/v2/models/adder/versions/1/infer", Header: h, Body: []byte(adderBody)})
		if res.Status != tt.status {
			t.Errorf("%q: %d %s, want %d", tt.ct, res.Status, res.Body, tt.status)
		}
	}
}
