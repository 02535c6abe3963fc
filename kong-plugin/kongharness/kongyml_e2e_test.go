package kongharness_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// demoKey is kong.yml's documented, public demo API key.
const demoKey = "mg_demo_e61044aa8a46a9ee4a1912d0839d8a2f"

// TestKongYMLAsKongRunsIt loads the repository's kong.yml plugin config
// into the real plugin server over Kong's protocol, with the sidecar it
// launches serving the committed example models, asks for server metadata
// (GET /v2) through kong.yml's routes, and asks the text classifier as the
// README does.
func TestKongYMLAsKongRunsIt(t *testing.T) {
	root := testutil.RepoRoot()
	data, err := os.ReadFile(filepath.Join(root, "kong.yml"))
	if err != nil {
		t.Fatal(err)
	}
	configs, err := kongharness.PluginConfigs(data, "modelgate")
	if err != nil || len(configs) != 1 {
		t.Fatalf("kong.yml modelgate configs: %v %v", configs, err)
	}
	var cfg any
	for _, c := range configs {
		cfg = c
	}
	ctx := context.Background()
	// kong.yml launches `modelgate-sidecar` from PATH with paths relative
	// to the working folder, as `make run` does from the repository root.
	sidecar := testutil.Binary(t, "modelgate-sidecar")
	srv := startServer(t, kongharness.Options{
		Dir: root,
		// kong.yml holds the public DEMO credentials: demo mode, as `make run`.
		Env: []string{"PATH=" + filepath.Dir(sidecar) + string(os.PathListSeparator) + os.Getenv("PATH"), "ORT_LIB=" + testutil.ORTLib(t),
			"MODELGATE_DEMO=1", "KONG_NGINX_MAIN_ENV=PATH; env ORT_LIB; env MODELGATE_DEMO"}, // the image's way past nginx (Dockerfile)
	})
	inst, err := srv.StartInstance(ctx, "modelgate", cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, srv, inst.ID)

	// OIP clients ask for server metadata first: GET /v2 must reach the
	// plugin through kong.yml's routes, and the plugin must answer it.
	routes, err := kongharness.Routes(data)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := kongharness.MatchRoute(routes, "GET", "/v2", "localhost"); !ok {
		t.Error("GET /v2: no route of kong.yml matches: Kong would answer 404")
	} else {
		t.Logf("GET /v2: route %s", r.Name)
	}
	res, err := srv.Access(ctx, inst.ID, kongharness.Request{Method: "GET", Path: "/v2"})
	if err != nil {
		t.Fatal(err)
	}
	var meta struct{ Name, Version string }
	if res.Status != 200 || json.Unmarshal(res.Body, &meta) != nil || meta.Name != "modelgate" || meta.Version == "" {
		t.Errorf("GET /v2: %d %s, want server metadata", res.Status, res.Body)
	}
	for _, tt := range []struct{ text, label string }{
		{"a wonderful film, truly great", "positive"},
		{"a terrible, boring and awful movie", "negative"},
	} {
		body, _ := json.Marshal(map[string]string{"text": tt.text})
		res, err := srv.Access(ctx, inst.ID, kongharness.Request{Method: "POST", Path: "/v1/models/sentiment:predict",
			Header: http.Header{"Apikey": {demoKey}}, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Predictions []struct{ Label string } `json:"predictions"`
		}
		if res.Status != 200 || json.Unmarshal(res.Body, &out) != nil || len(out.Predictions) != 1 {
			t.Fatalf("%q: %d %s", tt.text, res.Status, res.Body)
		}
		if out.Predictions[0].Label != tt.label {
			t.Errorf("%q: label %q, want %q", tt.text, out.Predictions[0].Label, tt.label)
		}
		if v := res.Header.Get("X-Model-Version"); v != "1" && v != "2" {
			t.Errorf("X-Model-Version %q", v)
		}
	}
}
