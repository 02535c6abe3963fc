package e2e

import (
	"crypto/rsa"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modelgate/modelgate/internal/testutil"
)

// demoIssuer is the DEMO issuer of the root kong.yml.
const demoIssuer = "https://auth.modelgate.example"

// demoSigner signs tokens with the committed DEMO private key, as
// deploy/keys/mint-demo-token.sh does.
func demoSigner(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "deploy", "keys", "demo-jwt-rs256.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(pem)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// bearer is the Authorization header of a fresh token for subject.
func bearer(t *testing.T, key *rsa.PrivateKey, subject string) http.Header {
	t.Helper()
	now := time.Now()
	token, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": demoIssuer, "aud": "modelgate", "sub": subject,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return http.Header{"Authorization": {"Bearer " + token}}
}

// TestIssuerSubjectsHaveTheirOwnNamespace: a token for sub=demo from the
// DEMO issuer is the issuer's subject demo on the trial tier, not the
// API-key consumer demo on the free tier, and it never touches that
// consumer's quota counters (issue 12, item 2).
func TestIssuerSubjectsHaveTheirOwnNamespace(t *testing.T) {
	s := startServe(t, testutil.RepoRoot(), "kong.yml")
	status, header, body := s.do(t, http.MethodPost, "/v1/models/sentiment:predict", bearer(t, demoSigner(t), "demo"), `{"text": "fine"}`)
	if status != http.StatusOK || header.Get("X-Ratelimit-Limit-Hour") != "5" || header.Get("X-Ratelimit-Limit-Minute") != "" {
		t.Errorf("token for sub=demo: %d %v %s, want the trial tier's hourly limit of 5", status, header, body)
	}
	status, header, body = s.do(t, http.MethodPost, "/v1/models/sentiment:predict", http.Header{"Apikey": {demoKey}}, `{"text": "fine"}`)
	if status != http.StatusOK || header.Get("X-Ratelimit-Limit-Minute") != "600" || header.Get("X-Ratelimit-Remaining-Minute") != "599" {
		t.Errorf("API key of consumer demo after the token: %d %v %s, want the free tier, its counter untouched", status, header, body)
	}
}
