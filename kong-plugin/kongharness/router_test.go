package kongharness_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// TestRepositoryKongYMLRoutes asks Kong-style route matching where the
// project's kong.yml files send Open Inference Protocol and TF Serving
// requests: /v2 itself (server metadata, which OIP clients call first) and
// everything under /v2/ reach the modelgate routes; neighbours do not.
func TestRepositoryKongYMLRoutes(t *testing.T) {
	for _, file := range []string{"kong.yml", "deploy/kong/kong.yml"} {
		data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), file))
		if err != nil {
			t.Fatal(err)
		}
		routes, err := kongharness.Routes(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			method, path, want string // want "": Kong's 404
		}{
			{"GET", "/v2", "modelgate-v2"},
			{"GET", "/v2/", "modelgate-v2"},
			{"GET", "/v2/health/ready", "modelgate-v2"},
			{"GET", "/v2/models/sentiment", "modelgate-v2"},
			{"POST", "/v2/models/sentiment/infer", "modelgate-v2"},
			{"POST", "/v2/repository/index", "modelgate-v2"},
			{"POST", "/v1/models/sentiment:predict", "modelgate-v1"},
			{"GET", "/v2x", ""},
			{"GET", "/v3", ""},
			{"GET", "/", ""},
			{"DELETE", "/v2", ""},
		} {
			got := ""
			if r, ok := kongharness.MatchRoute(routes, tt.method, tt.path, "localhost"); ok {
				got = r.Name
			}
			if got != tt.want {
				t.Errorf("%s: %s %s: route %q, want %q", file, tt.method, tt.path, got, tt.want)
			}
		}
	}
}

// TestMatchRouteLikeKong: prefix paths match by prefix only ("/v2/" is not
// "/v2"), the longest prefix wins, regex paths are anchored and beat
// prefixes, regex_priority orders regexes, and more kinds of criteria
// beat fewer (kong/router/transform.lua).
func TestMatchRouteLikeKong(t *testing.T) {
	routes, err := kongharness.Routes([]byte(`
_format_version: "3.0"
services:
  - name: s
    url: http://upstream
    routes:
      - name: nested
        paths: [/nested/]
routes:
  - name: v2-prefix
    paths: [/v2/]
  - name: v2-models
    paths: [/v2/models/]
  - name: predict
    paths: ["~/v1/models/[^/]+:predict$"]
  - name: predict-sentiment
    paths: ["~/v1/models/sentiment"]
    regex_priority: 10
  - name: v1
    paths: [/v1/]
  - name: v1-post
    paths: [/v1/]
    methods: [POST]
  - name: hosted
    paths: [/v2/]
    hosts: ["*.example.com"]
  - name: exact-host
    paths: [/v2/]
    hosts: [api.example.com]
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		method, path, host, want string
	}{
		{"GET", "/v2", "localhost", ""},
		{"GET", "/v2/health/ready", "localhost", "v2-prefix"},
		{"GET", "/v2/models/m", "localhost", "v2-models"},
		{"GET", "/v2/health/ready", "a.example.com", "hosted"},
		{"GET", "/v2/health/ready", "api.example.com", "exact-host"},
		{"GET", "/v1/models/m:predict", "localhost", "predict"},
		{"GET", "/v1/models/sentiment:predict", "localhost", "predict-sentiment"},
		{"GET", "/x/v1/models/m:predict", "localhost", ""},
		{"GET", "/v1/other", "localhost", "v1"},
		{"POST", "/v1/other", "localhost", "v1-post"},
		{"GET", "/nested/x", "localhost", "nested"},
	} {
		got := ""
		if r, ok := kongharness.MatchRoute(routes, tt.method, tt.path, tt.host); ok {
			got = r.Name
		}
		if got != tt.want {
			t.Errorf("%s %s (host %s): route %q, want %q", tt.method, tt.path, tt.host, got, tt.want)
		}
	}
	if _, err := kongharness.Routes([]byte("routes:\n  - name: h\n    headers: {x-a: [b]}\n")); err == nil {
		t.Error("a route with headers: no error, though the harness does not model them")
	}
}
