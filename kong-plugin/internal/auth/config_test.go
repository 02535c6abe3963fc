package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := Config{
		Consumers: []Consumer{
			{Name: "", Tier: "", KeySHA256: []string{"not-hex"}},
			{Name: "a", Tier: "t", KeySHA256: []string{strings.Repeat("ab", 32)}},
			{Name: "a", Tier: "t", KeySHA256: []string{strings.Repeat("AB", 32), strings.Repeat("zz", 32)}},
		},
		JWT: []Issuer{
			{Issuer: "", Algorithms: nil},
			{Issuer: "i", Algorithms: []string{"none", "RS256"}, Secret: "hunter2-literal-secret"},
			{Issuer: "i", Algorithms: []string{"HS256"}, PublicKey: "file:/k.pem", JWKS: "file:/j.json", Leeway: "forever"},
			{Issuer: "j", Algorithms: []string{"ES256"}, PublicKey: "file:/k.pem", Leeway: "1h"},
		},
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken config")
	}
	msg := err.Error()
	for _, want := range []string{
		"auth.consumers[0].name: required",
		"auth.consumers[0].tier: required",
		"auth.consumers[0].key_sha256[0]: want 64 hex characters",
		"auth.consumers[2].name: duplicate consumer \"a\"",
		"auth.consumers[2].key_sha256[0]: the same key is already listed for consumer \"a\"",
		"auth.consumers[2].key_sha256[1]: not hex",
		"auth.jwt[0].issuer: required",
		"auth.jwt[0]: exactly one of public_key, jwks or secret is required",
		"auth.jwt[0].algorithms: at least one algorithm is required",
		"auth.jwt[1].secret: secret must be an env:NAME or file:PATH reference",
		"auth.jwt[1].algorithms: unsupported algorithm \"none\"",
		"auth.jwt[1].algorithms: RS256 needs a public key, but the issuer has an HMAC secret",
		"auth.jwt[2].issuer: duplicate issuer \"i\"",
		"auth.jwt[2]: exactly one of public_key, jwks or secret is required",
		"auth.jwt[2].algorithms: HS256 needs an HMAC secret, but the issuer has public keys",
		"auth.jwt[2].leeway: time: invalid duration",
		"auth.jwt[3].leeway: must be between 0 and 10m0s",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("a literal secret leaked into the error:\n%s", msg)
	}
	if n := strings.Count(msg, "\n") + 1; n != 17 {
		t.Errorf("%d problems reported, want 17:\n%s", n, msg)
	}
}

func TestValidateAcceptsEmpty(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestNewRefusesBadKeyMaterial(t *testing.T) {
	k := keys(t)
	short, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	privatePEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.rsa)})
	t.Setenv("MODELGATE_TEST_SHORT", "too-short")
	t.Setenv("MODELGATE_TEST_EMPTY", "")

	tests := []struct {
		name   string
		issuer Issuer
		want   string
	}{
		{"unset variable", Issuer{Algorithms: []string{"HS256"}, Secret: "env:MODELGATE_TEST_UNSET_VARIABLE"}, "environment variable MODELGATE_TEST_UNSET_VARIABLE is not set"},
		{"empty variable", Issuer{Algorithms: []string{"HS256"}, Secret: "env:MODELGATE_TEST_EMPTY"}, "secret is empty"},
		{"short HMAC key", Issuer{Algorithms: []string{"HS256"}, Secret: "env:MODELGATE_TEST_SHORT"}, "HMAC key of 9 bytes is too short"},
		{"missing file", Issuer{Algorithms: []string{"RS256"}, PublicKey: "file:" + filepath.Join(t.TempDir(), "key.pem")}, "no such file"},
		{"file outside the allowed folders", Issuer{Algorithms: []string{"RS256"}, PublicKey: "file:/nonexistent/key.pem"}, "/nonexistent/key.pem is outside the allowed folders"},
		{"not PEM", Issuer{Algorithms: []string{"RS256"}, PublicKey: writeFile(t, "x.pem", []byte("hello"))}, "no PEM public key found"},
		{"private key PEM", Issuer{Algorithms: []string{"RS256"}, PublicKey: writeFile(t, "p.pem", privatePEM)}, `PEM block of type "RSA PRIVATE KEY" is not a public key`},
		{"short RSA key", Issuer{Algorithms: []string{"RS256"}, PublicKey: writePEM(t, &short.PublicKey)}, "RSA key of 1024 bits is too short"},
		{"P-224 curve", Issuer{Algorithms: []string{"ES256"}, PublicKey: writePEM(t, &p224.PublicKey)}, "EC curve P-224 is not a JWT curve"},
		{"no key for an algorithm", Issuer{Algorithms: []string{"ES256", "ES384"}, PublicKey: writePEM(t, &k.p256.PublicKey)}, "no configured key fits ES384"},
		{"RSA key for EdDSA", Issuer{Algorithms: []string{"EdDSA"}, PublicKey: writePEM(t, &k.rsa.PublicKey)}, "no configured key fits EdDSA"},
		{"JWKS with a private key", Issuer{Algorithms: []string{"RS256"}, JWKS: writeJWKS(t, map[string]string{"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "AQAB"})}, "holds a private key"},
		{"JWKS with an HMAC key", Issuer{Algorithms: []string{"RS256"}, JWKS: writeJWKS(t, map[string]string{"kty": "oct", "k": "c2VjcmV0"})}, "symmetric (oct) keys do not belong"},
		{"JWKS point off the curve", Issuer{Algorithms: []string{"ES256"}, JWKS: writeJWKS(t, map[string]string{"kty": "EC", "crv": "P-256", "x": "AQ", "y": "AQ"})}, "point"},
		{"JWKS key published for another algorithm", Issuer{Algorithms: []string{"RS256"}, JWKS: writeJWKS(t, withAlg(jwkOf(t, "r", &k.rsa.PublicKey), "RS384"))}, "no configured key fits RS256"},
		{"JWKS not JSON", Issuer{Algorithms: []string{"RS256"}, JWKS: writeFile(t, "j.json", []byte("{"))}, "JWKS: unexpected end of JSON input"},
		{"JWKS only encryption keys", Issuer{Algorithms: []string{"RS256"}, JWKS: writeJWKS(t, map[string]string{"kty": "RSA", "use": "enc"})}, "holds no signature verification key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.issuer.Issuer = "https://x.example"
			_, err := New(Config{JWT: []Issuer{tt.issuer}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error containing %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "auth.jwt[0] (https://x.example)") {
				t.Fatalf("error %q does not name the field", err)
			}
		})
	}
}

func TestNewAcceptsCertificateAndPKCS1(t *testing.T) {
	k := keys(t)
	tmpl := &x509.Certificate{SerialNumber: bigOne()}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.rsa.PublicKey, k.rsa)
	if err != nil {
		t.Fatal(err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsaOther.PublicKey)})...)
	a, err := New(Config{JWT: []Issuer{{Issuer: "https://x.example", Algorithms: []string{"RS256"}, PublicKey: writeFile(t, "c.pem", data)}}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(a.issuers["https://x.example"].publicKeys.Get()); n != 2 {
		t.Fatalf("%d keys loaded, want 2", n)
	}
}

func TestTierNames(t *testing.T) {
	cfg := Config{
		Consumers: []Consumer{{Name: "a", Tier: "gold"}, {Name: "b", Tier: "free"}, {Name: "c", Tier: "gold"}},
		JWT:       []Issuer{{DefaultTier: "free"}, {DefaultTier: "partner"}, {}},
	}
	got := strings.Join(cfg.TierNames(), ",")
	if got != "gold,free,partner" {
		t.Fatalf("TierNames = %s", got)
	}
}

func withAlg(jwk map[string]string, alg string) map[string]string {
	jwk["alg"] = alg
	return jwk
}

// TestValidateNames: configured names never contain the namespace
// separator, so no JWT subject can be a configured consumer; issuers'
// namespaces are distinct and none is another's plus ":"; a subjects map
// names configured consumers only.
func TestValidateNames(t *testing.T) {
	pub := "file:/k.pem"
	cfg := Config{
		Consumers: []Consumer{{Name: "idp:alice", Tier: "t"}, {Name: "bob smith", Tier: "t"}, {Name: "carol", Tier: "t"}},
		JWT: []Issuer{
			{Issuer: "https://a.example", Name: "a:b", Algorithms: []string{"RS256"}, PublicKey: pub},
			{Issuer: "https://b.example", Name: "b", Algorithms: []string{"RS256"}, PublicKey: pub,
				Subjects: map[string]string{"x": "carol", "y": "nobody"}},
			{Issuer: "https://c.example", Name: "b", Algorithms: []string{"RS256"}, PublicKey: pub},
			{Issuer: "https://d.example", Algorithms: []string{"RS256"}, PublicKey: pub},
			{Issuer: "https://d.example:443", Algorithms: []string{"RS256"}, PublicKey: pub},
		},
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted the names")
	}
	msg := err.Error()
	for _, want := range []string{
		`auth.consumers[0].name: contains ":"`,
		`auth.consumers[1].name: contains ' '`,
		`auth.jwt[0].name: contains ":"`,
		`auth.jwt[1].subjects.y: "nobody" is not in auth.consumers`,
		`auth.jwt[2].name: namespace "b" is already auth.jwt[1]'s`,
		`auth.jwt[4].name: namespace "https://d.example:443" starts with auth.jwt[3]'s "https://d.example"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if n := strings.Count(msg, "\n") + 1; n != 6 {
		t.Errorf("%d problems reported, want 6:\n%s", n, msg)
	}
}
