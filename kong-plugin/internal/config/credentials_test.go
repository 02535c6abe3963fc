package config

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
	"github.com/modelgate/modelgate/kong-plugin/internal/trust"
)

// TestCheckCredentials recognises the DEMO credentials by value, in each
// form a config can hold them, and accepts them only in demo mode.
func TestCheckCredentials(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return "file:" + p
	}
	demoPEM, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "deploy", "keys", "demo-jwt-rs256.pub"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(demoPEM)
	demoKey, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(demoKey.(*rsa.PublicKey))})
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{"kty": "RSA", "e": "AQAB",
		"n": base64.RawURLEncoding.EncodeToString(demoKey.(*rsa.PublicKey).N.Bytes())}}})
	own, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ownDER, _ := x509.MarshalPKIXPublicKey(&own.PublicKey)
	ownPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ownDER})
	const otherDigest = "10690ec5d65705fd6db2bde743b7c1094ce5f28bfa736cdb8875eb14cb2a5abe"
	outside := filepath.Join(t.TempDir(), "own.pem")
	if err := os.WriteFile(outside, ownPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	policy := trust.Policy{SecretDirs: []string{dir}}

	issuer := func(field, ref string) auth.Issuer {
		iss := auth.Issuer{Issuer: "https://idp.example", Algorithms: []string{"RS256"}}
		if field == "jwks" {
			iss.JWKS = ref
		} else {
			iss.PublicKey = ref
		}
		return iss
	}
	for _, tc := range []struct {
		name   string
		auth   auth.Config
		refuse string // "" accepted; else what the error names
	}{
		{"own key and digest", auth.Config{
			Consumers: []auth.Consumer{{Name: "a", Tier: "t", KeySHA256: []string{otherDigest, write("own.sha256", []byte(otherDigest+"\n"))}}},
			JWT:       []auth.Issuer{issuer("public_key", write("own.pem", ownPEM))}}, ""},
		{"DEMO digest inline, upper case", auth.Config{Consumers: []auth.Consumer{{Name: "a", Tier: "t", KeySHA256: []string{strings.ToUpper(DemoAPIKeySHA256)}}}},
			"auth.consumers[0].key_sha256[0]: the DEMO API key's digest"},
		{"DEMO digest in a file", auth.Config{Consumers: []auth.Consumer{{Name: "a", Tier: "t", KeySHA256: []string{write("keys.sha256", []byte("# keys\n"+otherDigest+"\n"+DemoAPIKeySHA256+"  demo\n"))}}}},
			"keys.sha256 holds the DEMO API key's digest"},
		{"DEMO PEM", auth.Config{JWT: []auth.Issuer{issuer("public_key", write("demo.pub", demoPEM))}}, "demo.pub holds the DEMO issuer's public key"},
		{"DEMO PKCS1 beside another key", auth.Config{JWT: []auth.Issuer{issuer("public_key", write("both.pub", append(ownPEM, pkcs1...)))}}, "both.pub"},
		{"DEMO JWKS", auth.Config{JWT: []auth.Issuer{issuer("jwks", write("jwks.json", jwks))}}, "auth.jwt[0].jwks"},
		{"missing file", auth.Config{JWT: []auth.Issuer{issuer("public_key", "file:"+filepath.Join(dir, "absent.pub"))}}, "absent.pub"},
		{"own key outside the folders", auth.Config{JWT: []auth.Issuer{issuer("public_key", "file:"+outside)}}, "outside the allowed folders"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Auth: tc.auth}
			err := c.CheckCredentials(false, policy)
			switch {
			case tc.refuse == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refuse != "" && (err == nil || !strings.Contains(err.Error(), tc.refuse)):
				t.Fatalf("got %v, want a refusal naming %q", err, tc.refuse)
			}
			if err := c.CheckCredentials(true, policy); err != nil && errors.Is(err, ErrDemoCredential) {
				t.Errorf("demo mode refused a DEMO credential: %v", err)
			}
		})
	}
}
