package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// FuzzCredential drives header -> credential extraction and the whole
// Authenticate path with arbitrary header values: it must never panic,
// classify consistently, and never echo a credential in an error.
func FuzzCredential(f *testing.F) {
	f.Add("", "")
	f.Add("mg_abc", "")
	f.Add("", "Bearer mg_abc")
	f.Add("", "bearer eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL3JzYS5leGFtcGxlIn0.")
	f.Add("", "Bearer a.b.c")
	f.Add("", "Bearer ..")
	f.Add("", "Basic dXNlcjpwYXNz")
	f.Add("  ", "Bearer\t x ")
	k := keys(f)
	a, err := New(Config{
		Consumers: []Consumer{{Name: "alice", Tier: "free", KeySHA256: []string{digest("mg_abc")}}},
		JWT: []Issuer{{Issuer: issRSA, Algorithms: []string{"RS256"}, PublicKey: writePEM(f, &k.rsa.PublicKey),
			Audiences: []string{audience}, DefaultTier: "free"}},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, apikey, authorization string) {
		h := http.Header{}
		if apikey != "" {
			h.Set(APIKeyHeader, apikey)
		}
		if authorization != "" {
			h.Set("Authorization", authorization)
		}
		cred := ExtractCredential(h)
		switch cred.Kind {
		case NoCredential:
			if cred.Value != "" {
				t.Fatalf("no credential, but value %q", cred.Value)
			}
		case APIKey, JWT:
			if cred.Value == "" || cred.Value != strings.TrimSpace(cred.Value) {
				t.Fatalf("kind %d with value %q", cred.Kind, cred.Value)
			}
			if cred.Kind == JWT && strings.Count(cred.Value, ".") != 2 {
				t.Fatalf("JWT %q without three segments", cred.Value)
			}
		default:
			t.Fatalf("unknown kind %d", cred.Kind)
		}

		id, err := a.Authenticate(h)
		if err == nil {
			if id.Consumer == "" || id.Tier == "" {
				t.Fatalf("success without a consumer: %+v", id)
			}
			return
		}
		var ae *Error
		if !errors.As(err, &ae) {
			t.Fatalf("error %v is not an *Error", err)
		}
		if (cred.Kind == NoCredential) != (ae.Reason == ReasonMissing) {
			t.Fatalf("credential kind %d but reason %s", cred.Kind, ae.Reason)
		}
		// Long enough not to be a word of the fixed error texts by chance.
		if len(cred.Value) >= 24 && strings.Contains(err.Error(), cred.Value) {
			t.Fatalf("credential echoed in %q", err)
		}
	})
}

// FuzzJWKS feeds arbitrary bytes to the JWK Set parser (a file an operator
// downloads from an identity provider): it must fail cleanly, and every key
// it accepts must be a usable public key.
func FuzzJWKS(f *testing.F) {
	k := keys(f)
	for _, jwk := range []map[string]string{
		jwkOf(f, "r", &k.rsa.PublicKey), jwkOf(f, "e", &k.p256.PublicKey), jwkOf(f, "d", k.ed.Public()),
	} {
		data, err := json.Marshal(map[string]any{"keys": []any{jwk}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AQ","y":"AQ"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"","e":"AQAB"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := parseJWKS(data)
		if err != nil {
			return
		}
		for _, key := range keys {
			if err := checkPublicKey(key.key); err != nil {
				t.Fatalf("accepted an unusable key: %v", err)
			}
		}
	})
}

// FuzzSubjectConsumer: whatever consumer name a token's subject becomes is
// inside its issuer's namespace, passes the name rule, and can never be a
// configured consumer's name (those have no separator).
func FuzzSubjectConsumer(f *testing.F) {
	for _, s := range []string{"alice", "demo", "a:b", "", " ", "x\n", "\u00e9t\u00e9", strings.Repeat("x", 300), "urn:user:42"} {
		f.Add("corp", s)
	}
	f.Fuzz(func(t *testing.T, namespace, subject string) {
		if checkConfiguredName(namespace) != nil {
			return
		}
		name, err := SubjectConsumer(namespace, subject)
		if err != nil {
			return
		}
		if !strings.HasPrefix(name, namespace+NamespaceSeparator) || name[len(namespace)+1:] != subject {
			t.Fatalf("%q from namespace %q and subject %q", name, namespace, subject)
		}
		if checkNameChars(name) != nil || checkConfiguredName(name) == nil {
			t.Fatalf("%q: passes the configured-name rule or fails the name rule", name)
		}
	})
}
