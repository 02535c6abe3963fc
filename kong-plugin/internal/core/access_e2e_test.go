package core

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modelgate/modelgate/kong-plugin/internal/apis"
	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

const accessSecret = "access-test-hmac-secret-of-enough-bytes"

// accessToken is a token of the test issuer for subject.
func accessToken(t *testing.T, subject string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "https://access.test", "sub": subject,
		"aud": "modelgate", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(accessSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// callWith is call with a credential that is either an API key or
// "Bearer <token>".
func callWith(g *Gateway, method, path, cred, body string) protocol.Response {
	token, isToken := strings.CutPrefix(cred, "Bearer ")
	if !isToken {
		return call(g, method, path, cred, body)
	}
	h := http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}
	return g.Handle(context.Background(), apis.Router, protocol.Request{Method: method, Path: path, Header: h, Body: []byte(body)})
}

// accessConfig restricts the adder's canary (version 2) to alice and
// version 3 (the sidecar's latest) to the gold tier, and closes the models
// `models` does not list.
func accessConfig(t *testing.T) config.Config {
	cfg := adderConfig(t)
	cfg.UnlistedModels = config.UnlistedDeny
	cfg.Models[0].Split = nil
	// A pin that sends a configured consumer to a version it may not call
	// is a config error (config.checkPinsAllowed); a JWT subject's pin is
	// checked per request.
	t.Setenv("MODELGATE_TEST_ACCESS_HMAC", accessSecret)
	cfg.Auth.JWT = []auth.Issuer{{Issuer: "https://access.test", Name: "access", Algorithms: []string{"HS256"},
		Secret: "env:MODELGATE_TEST_ACCESS_HMAC", Audiences: []string{"modelgate"}, DefaultTier: "free"}}
	cfg.Models[0].Pins = map[string]string{"access:carol": "canary"}
	cfg.Models[0].Versions = map[string]config.VersionAccess{
		"canary": {AllowConsumers: []string{"alice"}},
		"3":      {AllowTiers: []string{"gold"}},
	}
	return cfg
}

// TestVersionAllowListsWhateverChoseTheVersion: a consumer may not reach
// a restricted version by URL, label, pin, split, default alias or the
// sidecar's latest; one on the list may (issue 12, item 3).
func TestVersionAllowListsWhateverChoseTheVersion(t *testing.T) {
	g := startGateway(t, accessConfig(t))
	split := accessConfig(t)
	split.Models[0].Split = []config.SplitTarget{{Target: "canary", Weight: 1}}
	gSplit := startGateway(t, split)
	latest := accessConfig(t)
	latest.Models[0].DefaultAlias = ""
	gLatest := startGateway(t, latest)
	byDefault := accessConfig(t)
	byDefault.Models[0].DefaultAlias = "canary"
	gDefault := startGateway(t, byDefault)

	const predict = `{"instances":[{"a":[1,2,3,4],"b":[10,20,30,40]}]}`
	for _, tt := range []struct {
		name      string
		g         *Gateway
		path, key string
		body      string
		version   string // "" = 403
	}{
		{"URL, not on the list", g, "/v2/models/adder/versions/2/infer", keyBob, adderBody, ""},
		{"URL, on the list", g, "/v2/models/adder/versions/2/infer", keyAlice, adderBody, "2"},
		{"URL, an open version", g, "/v2/models/adder/versions/1/infer", keyBob, adderBody, "1"},
		{"URL, tier list", g, "/v2/models/adder/versions/3/infer", keyBob, adderBody, ""},
		{"URL, on the tier list", g, "/v2/models/adder/versions/3/infer", keyAlice, adderBody, "3"},
		{"label", g, "/v1/models/adder/labels/canary:predict", keyBob, predict, ""},
		{"label, on the list", g, "/v1/models/adder/labels/canary:predict", keyAlice, predict, "2"},
		{"pin", g, "/v2/models/adder/infer", "Bearer " + accessToken(t, "carol"), adderBody, ""},
		{"default alias, open", g, "/v2/models/adder/infer", keyBob, adderBody, "1"},
		{"split", gSplit, "/v2/models/adder/infer", keyBob, adderBody, ""},
		{"split, on the list", gSplit, "/v2/models/adder/infer", keyAlice, adderBody, "2"},
		{"default alias", gDefault, "/v2/models/adder/infer", keyBob, adderBody, ""},
		{"the sidecar's latest", gLatest, "/v2/models/adder/infer", keyBob, adderBody, ""},
		{"the sidecar's latest, on the list", gLatest, "/v2/models/adder/infer", keyAlice, adderBody, "3"},
	} {
		res := callWith(tt.g, "POST", tt.path, tt.key, tt.body)
		if tt.version == "" {
			if res.Status != http.StatusForbidden {
				t.Errorf("%s: %d %s, want 403", tt.name, res.Status, res.Body)
			}
			continue
		}
		if res.Status != http.StatusOK || res.Header.Get("X-Model-Version") != tt.version {
			t.Errorf("%s: %d %s (version %q), want 200 from version %s", tt.name, res.Status, res.Body,
				res.Header.Get("X-Model-Version"), tt.version)
		}
	}
}

// TestUnlistedModelsDeny: with unlisted_models: deny a model that `models`
// does not list is refused to every consumer, and the repository index
// and model metadata show a consumer only what it may call.
func TestUnlistedModelsDeny(t *testing.T) {
	g := startGateway(t, accessConfig(t))
	if res := call(g, "POST", "/v2/models/text_sentiment/infer", keyAlice, `{}`); res.Status != http.StatusForbidden {
		t.Errorf("unlisted model: %d %s, want 403", res.Status, res.Body)
	}
	if res := call(g, "GET", "/v2/models/text_sentiment", keyAlice, ""); res.Status != http.StatusForbidden {
		t.Errorf("unlisted model's metadata: %d %s, want 403", res.Status, res.Body)
	}
	open := adderConfig(t)
	if res := call(startGateway(t, open), "GET", "/v2/models/text_sentiment", keyAlice, ""); res.Status != http.StatusOK {
		t.Errorf("unlisted model, unlisted_models left out: %d %s, want 200 as before", res.Status, res.Body)
	}

	index := func(key string) []string {
		t.Helper()
		res := call(g, "POST", "/v2/repository/index", key, "")
		var idx []protocol.IndexEntry
		if res.Status != http.StatusOK || json.Unmarshal(res.Body, &idx) != nil {
			t.Fatalf("index: %d %s", res.Status, res.Body)
		}
		var got []string
		for _, e := range idx {
			got = append(got, e.Name+"/"+e.Version)
		}
		slices.Sort(got)
		return got
	}
	if got, want := index(keyBob), []string{"adder/1"}; !slices.Equal(got, want) {
		t.Errorf("bob's index: %v, want %v", got, want)
	}
	if got, want := index(keyAlice), []string{"adder/1", "adder/2", "adder/3", "tiny_classifier/1"}; !slices.Equal(got, want) {
		t.Errorf("alice's index: %v, want %v", got, want)
	}

	meta := func(key, path string) (int, []string, string) {
		t.Helper()
		res := call(g, "GET", path, key, "")
		var m struct {
			Versions []string `json:"versions"`
		}
		if res.Status == http.StatusOK {
			if err := json.Unmarshal(res.Body, &m); err != nil {
				t.Fatalf("metadata %s: %v", res.Body, err)
			}
		}
		slices.Sort(m.Versions)
		return res.Status, m.Versions, res.Header.Get("X-Model-Version")
	}
	if status, versions, _ := meta(keyBob, "/v2/models/adder"); status != http.StatusOK || !slices.Equal(versions, []string{"1"}) {
		t.Errorf("bob's adder metadata: %d %v, want 200 listing version 1 only", status, versions)
	}
	if status, versions, _ := meta(keyAlice, "/v2/models/adder"); status != http.StatusOK || !slices.Equal(versions, []string{"1", "2", "3"}) {
		t.Errorf("alice's adder metadata: %d %v, want 200 listing 1, 2 and 3", status, versions)
	}
	if status, _, _ := meta(keyBob, "/v2/models/adder/versions/2"); status != http.StatusForbidden {
		t.Errorf("bob's metadata of the canary: %d, want 403", status)
	}
	if res := call(g, "GET", "/v2/models/adder/versions/3/ready", keyBob, ""); res.Status != http.StatusForbidden {
		t.Errorf("bob's readiness of version 3: %d %s, want 403", res.Status, res.Body)
	}
}
