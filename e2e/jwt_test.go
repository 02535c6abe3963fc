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
