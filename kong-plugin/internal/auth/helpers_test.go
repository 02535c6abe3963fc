package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testKeys are real keys generated once per test binary (RSA generation is
// the slow part) and shared read-only by the tests.
type testKeys struct {
	rsa      *rsa.PrivateKey
	rsaOther *rsa.PrivateKey
	p256     *ecdsa.PrivateKey
	p384     *ecdsa.PrivateKey
	ed       ed25519.PrivateKey
	hmac     []byte
}

func newTestKeys(t testing.TB) *testKeys {
	t.Helper()
	k := &testKeys{hmac: make([]byte, 64)}
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.rsaOther, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.p256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if k.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	if _, err = rand.Read(k.hmac); err != nil {
		t.Fatal(err)
	}
	// The secret travels through an environment variable: printable bytes.
	k.hmac = []byte(base64.RawURLEncoding.EncodeToString(k.hmac))
	return k
}

// pemOf encodes public keys as PUBLIC KEY blocks.
func pemOf(t testing.TB, pubs ...crypto.PublicKey) []byte {
	t.Helper()
	var data []byte
	for _, pub := range pubs {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...)
	}
	return data
}

// writePEM writes the public keys as PEM and returns a file: reference.
func writePEM(t testing.TB, pubs ...crypto.PublicKey) string {
	t.Helper()
	return writeFile(t, "key.pem", pemOf(t, pubs...))
}

func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return "file:" + path
}

func digest(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// sign makes a token with the given method, key, header and claims.
func sign(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claimsFor are valid claims for issuer iss and audience aud, relative to now.
func claimsFor(iss, sub, aud string, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": iss,
		"sub": sub,
		"aud": aud,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
}

func bearer(token string) map[string][]string {
	return map[string][]string{"Authorization": {"Bearer " + token}}
}

func bigOne() *big.Int { return big.NewInt(1) }
