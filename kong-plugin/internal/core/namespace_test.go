package core

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modelgate/modelgate/kong-plugin/internal/apis"
	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// TestIssuerNamespaceInPinsAndAllowLists: a JWT subject is
// `<issuer name>:<subject>` in pins and allow lists, the same name its
// quota and Kong consumer use; a subject equal to a configured consumer's
// name gets none of that consumer's pins or rights (issue 12, item 2).
func TestIssuerNamespaceInPinsAndAllowLists(t *testing.T) {
	secret := strings.Repeat("namespace-test-hmac-", 3)
	t.Setenv("MODELGATE_TEST_NAMESPACE_HMAC", secret)
	cfg := adderConfig(t)
	cfg.Auth.JWT = []auth.Issuer{{Issuer: "https://idp.test", Name: "idp", Algorithms: []string{"HS256"},
		Secret: "env:MODELGATE_TEST_NAMESPACE_HMAC", DefaultTier: "free",
		Subjects: map[string]string{"alice-sso": "alice"}}}
	cfg.Models[0].Pins = map[string]string{"bob": "2", "idp:bob": "3"}
	g := startGateway(t, cfg)

	token := func(subject string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "https://idp.test", "sub": subject,
			"exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	do := func(cred, path, body string) protocol.Response {
		h := http.Header{"Authorization": {"Bearer " + cred}, "Content-Type": {"application/json"}}
		return g.Handle(context.Background(), apis.Router, protocol.Request{Method: "POST", Path: path, Header: h, Body: []byte(body)})
	}
	if v := adderVersion(t, decodeResult(t, do(keyBob, "/v2/models/adder/infer", adderBody))); v != "2" {
		t.Errorf("API-key consumer bob: version %s, want its pin 2", v)
	}
	res := do(token("bob"), "/v2/models/adder/infer", adderBody)
	if v := adderVersion(t, decodeResult(t, res)); v != "3" || res.Consumer != "idp:bob" {
		t.Errorf("subject bob: version %s as %q, want the pin of idp:bob, 3", v, res.Consumer)
	}
	// tiny_classifier allows alice only: a token for sub=alice is idp:alice;
	// the subject the issuer maps to alice is alice.
	if res := do(token("alice"), "/v2/models/tiny_classifier/infer", `{}`); res.Status != http.StatusForbidden ||
		!strings.Contains(string(res.Body), `idp:alice`) {
		t.Errorf("subject alice on alice's model: %d %s, want 403 for idp:alice", res.Status, res.Body)
	}
	if res := do(token("alice-sso"), "/v2/models/tiny_classifier/infer", `{}`); res.Status == http.StatusForbidden || res.Consumer != "alice" {
		t.Errorf("mapped subject alice-sso: %d %s as %q, want consumer alice past the allow list", res.Status, res.Body, res.Consumer)
	}
}
