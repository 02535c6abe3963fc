package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	issRSA   = "https://rsa.example"
	issEC    = "https://ec.example"
	issJWKS  = "https://jwks.example"
	issHMAC  = "https://hmac.example"
	audience = "modelgate"
)

var (
	fixtureOnce sync.Once
	fixtureKeys *testKeys
)

// keys returns the shared test keys (RSA generation is slow; once per binary).
func keys(t testing.TB) *testKeys {
	fixtureOnce.Do(func() { fixtureKeys = newTestKeys(t) })
	return fixtureKeys
}

type fixture struct {
	a        *Authenticator
	k        *testKeys
	now      time.Time
	aliceKey string
	bobKeys  []string
}

func randomKey(t testing.TB) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return KeyPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	k := keys(t)
	f := &fixture{k: k, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	f.aliceKey = randomKey(t)
	f.bobKeys = []string{randomKey(t), randomKey(t)}
	t.Setenv("MODELGATE_TEST_HMAC", string(k.hmac))
	cfg := Config{
		Consumers: []Consumer{
			{Name: "alice", Tier: "gold", KeySHA256: []string{digest(f.aliceKey)}},
			// Upper-case hex is accepted as well.
			{Name: "bob", Tier: "free", KeySHA256: []string{digest(f.bobKeys[0]), strings.ToUpper(digest(f.bobKeys[1]))}},
		},
		JWT: []Issuer{
			{Issuer: issRSA, Name: "rsa", Algorithms: []string{"RS256", "PS384"}, PublicKey: writePEM(t, &k.rsa.PublicKey),
				Audiences: []string{audience, "other"}, DefaultTier: "free", Leeway: "30s",
				Subjects: map[string]string{"alice-sso": "alice"}},
			// No name: its subjects live under the issuer value.
			{Issuer: issEC, Algorithms: []string{"ES256", "ES384"}, PublicKey: writePEM(t, &k.p256.PublicKey, &k.p384.PublicKey),
				DefaultTier: "free"},
			{Issuer: issJWKS, Name: "jwks", Algorithms: []string{"RS256", "EdDSA"}, JWKS: writeJWKS(t,
				jwkOf(t, "rsa-1", &k.rsa.PublicKey), jwkOf(t, "rsa-2", &k.rsaOther.PublicKey), jwkOf(t, "ed-1", k.ed.Public())),
				DefaultTier: "free"},
			{Issuer: issHMAC, Algorithms: []string{"HS256", "HS512"}, Secret: "env:MODELGATE_TEST_HMAC",
				ConsumerClaim: "client_id", Subjects: map[string]string{"alice": "alice"}},
		},
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.now = func() time.Time { return f.now }
	f.a = a
	return f
}

func TestAuthenticate(t *testing.T) {
	f := newFixture(t)
	k, now := f.k, f.now
	valid := func(iss string) jwt.MapClaims { return claimsFor(iss, "carol", audience, now) }
	with := func(c jwt.MapClaims, key string, v any) jwt.MapClaims {
		out := jwt.MapClaims{}
		for k, v := range c {
			out[k] = v
		}
		if v == nil {
			delete(out, key)
		} else {
			out[key] = v
		}
		return out
	}
	hmacClaims := with(with(valid(issHMAC), "client_id", "alice"), "aud", nil)
	noneToken := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid(issRSA), nil)
	rsaToken := sign(t, jwt.SigningMethodRS256, k.rsa, valid(issRSA), nil)
	parts := strings.Split(rsaToken, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+issRSA+`","sub":"admin","aud":"modelgate","exp":9999999999}`)) + "." + parts[2]
	// Key confusion: an HS256 token whose HMAC key is the issuer's public key PEM.
	confused := sign(t, jwt.SigningMethodHS256, pemOf(t, &k.rsa.PublicKey), valid(issRSA), nil)
	strangerP256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	ok := func(consumer, tier, method string) Identity {
		return Identity{Consumer: consumer, Tier: tier, Method: method}
	}
	tests := []struct {
		name   string
		header http.Header
		want   Identity
		reason Reason
		bearer bool
	}{
		{"apikey header", http.Header{"Apikey": {f.aliceKey}}, ok("alice", "gold", MethodAPIKey), "", false},
		{"bearer api key", bearer(f.bobKeys[0]), ok("bob", "free", MethodAPIKey), "", false},
		{"second key, upper-case digest", http.Header{"Apikey": {f.bobKeys[1]}}, ok("bob", "free", MethodAPIKey), "", false},
		{"lower-case bearer scheme", http.Header{"Authorization": {"bearer " + f.aliceKey}}, ok("alice", "gold", MethodAPIKey), "", false},
		{"apikey header wins over Authorization", http.Header{"Apikey": {f.aliceKey}, "Authorization": {"Bearer " + f.bobKeys[0]}}, ok("alice", "gold", MethodAPIKey), "", false},
		{"no credential", http.Header{}, Identity{}, ReasonMissing, false},
		{"basic scheme is no credential", http.Header{"Authorization": {"Basic YWxpY2U6cHc="}}, Identity{}, ReasonMissing, false},
		{"empty bearer", http.Header{"Authorization": {"Bearer   "}}, Identity{}, ReasonMissing, false},
		{"unknown key", http.Header{"Apikey": {randomKey(t)}}, Identity{}, ReasonInvalidKey, false},
		{"key off by one character", http.Header{"Apikey": {offByOne(f.aliceKey)}}, Identity{}, ReasonInvalidKey, false},
		{"the stored digest is not a key", http.Header{"Apikey": {digest(f.aliceKey)}}, Identity{}, ReasonInvalidKey, false},
		{"oversized key", http.Header{"Apikey": {strings.Repeat("k", maxCredentialBytes+1)}}, Identity{}, ReasonInvalidKey, false},

		{"RS256 from PEM", bearer(rsaToken), ok("rsa:carol", "free", MethodJWT), "", true},
		{"PS384 from PEM", bearer(sign(t, jwt.SigningMethodPS384, k.rsa, valid(issRSA), nil)), ok("rsa:carol", "free", MethodJWT), "", true},
		// Issue 12, item 2: a token for sub=alice is not the consumer alice.
		{"a configured consumer's name as subject is a subject of the issuer", bearer(sign(t, jwt.SigningMethodRS256, k.rsa, with(valid(issRSA), "sub", "alice"), nil)), ok("rsa:alice", "free", MethodJWT), "", true},
		{"a subject the issuer maps is that consumer", bearer(sign(t, jwt.SigningMethodRS256, k.rsa, with(valid(issRSA), "sub", "alice-sso"), nil)), ok("alice", "gold", MethodJWT), "", true},
		{"a mapped subject of one issuer is not mapped for another", bearer(sign(t, jwt.SigningMethodES256, k.p256, with(valid(issEC), "sub", "alice-sso"), nil)), ok(issEC+":alice-sso", "free", MethodJWT), "", true},
		{"second audience in a list", bearer(sign(t, jwt.SigningMethodRS256, k.rsa, with(valid(issRSA), "aud", []string{"x", "other"}), nil)), ok("rsa:carol", "free", MethodJWT), "", true},
		{"ES256 P-256", bearer(sign(t, jwt.SigningMethodES256, k.p256, valid(issEC), nil)), ok(issEC+":carol", "free", MethodJWT), "", true},
		{"ES384 P-384", bearer(sign(t, jwt.SigningMethodES384, k.p384, valid(issEC), nil)), ok(issEC+":carol", "free", MethodJWT), "", true},
		{"EdDSA from JWKS", bearer(sign(t, jwt.SigningMethodEdDSA, k.ed, valid(issJWKS), map[string]any{"kid": "ed-1"})), ok("jwks:carol", "free", MethodJWT), "", true},
		{"JWKS kid picks the second RSA key", bearer(sign(t, jwt.SigningMethodRS256, k.rsaOther, valid(issJWKS), map[string]any{"kid": "rsa-2"})), ok("jwks:carol", "free", MethodJWT), "", true},
		{"JWKS without kid tries every fitting key", bearer(sign(t, jwt.SigningMethodRS256, k.rsaOther, valid(issJWKS), nil)), ok("jwks:carol", "free", MethodJWT), "", true},
		{"HS256 with consumer claim", bearer(sign(t, jwt.SigningMethodHS256, k.hmac, hmacClaims, nil)), ok("alice", "gold", MethodJWT), "", true},
		{"HS512", bearer(sign(t, jwt.SigningMethodHS512, k.hmac, hmacClaims, nil)), ok("alice", "gold", MethodJWT), "", true},
		{"expired within leeway", bearer(sign(t, jwt.SigningMethodRS256, k.rsa, with(valid(issRSA), "exp", now.Add(-20*time.Second).Unix()), nil)), ok("rsa:carol", "free", MethodJWT), "", true},

		{"alg none", bearer(noneToken), Identity{}, ReasonBadAlgorithm, true},
		{"alg outside the list", bearer(sign(t, jwt.SigningMethodRS512, k.rsa, valid(issRSA), nil)), Identity{}, ReasonBadAlgorithm, true},
		{"HS256 signed with the RSA public key (key confusion)", bearer(confused), Identity{}, ReasonBadAlgorithm, true},
		{"HS256 token for a public-key issuer", bearer(sign(t, jwt.SigningMethodHS256, k.hmac, valid(issEC), nil)), Identity{}, ReasonBadAlgorithm, true},
		{"expired", bearer(sign(t, jwt.SigningMethodRS256, k.rsa, with(valid(issRSA), "exp", now.Add(-time.Minute).Unix()), nil)), Identity{}, ReasonExpired, true},
		{"expired, no leeway", bearer(sign(t, jwt.SigningMethodES256, k.p256, with(valid(issEC), "exp", now.Add(-time.Second).Unix()), nil)), Identity{}, ReasonExpired, true},
		{"no exp", bearer(sign(t, jwt.SigningMethodRS256, k.rsa, with(valid(issRSA), "exp", nil), nil)), Identity{}, ReasonInvalidToken, true},
		{"not yet valid", bearer(sign(t, jwt.SigningMethodRS256, k.rsa, with(valid(issRSA), "nbf", now.Add(time.Minute).Unix()), nil)), Identity{}, ReasonNotYetValid, true},
		{"iat in the future is not checked", bearer(sign(t, jwt.SigningMethodES256, k.p256, with(valid(issEC), "iat", now.Add(time.Second).Unix()), nil)), ok(issEC+":carol", "free", MethodJWT), "", true},
		{"unknown issuer", bearer(sign(t, jwt.SigningMethodRS256, k.rsa, valid("https://evil.example"), nil)), Identity{}, ReasonUnknownIssuer, true},
		{"no issuer", bearer(sign(t, jwt.SigningMethodRS256, k.rsa, with(valid(issRSA), "iss", nil), nil)), Identity{}, ReasonUnknownIssuer, true},
		{"wrong audience", bearer(sign(t, jwt.SigningMethodRS256, k.rsa, with(valid(issRSA), "aud", "someone-else"), nil)), Identity{}, ReasonBadAudience, true},
		{"no audience", bearer(sign(t, jwt.SigningMethodRS256, k.rsa, with(valid(issRSA), "aud", nil), nil)), Identity{}, ReasonInvalidToken, true},
		{"signed by another key", bearer(sign(t, jwt.SigningMethodRS256, k.rsaOther, valid(issRSA), nil)), Identity{}, ReasonBadSignature, true},
		{"payload swapped", bearer(tampered), Identity{}, ReasonBadSignature, true},
		{"ES256 signed by a key not configured", bearer(sign(t, jwt.SigningMethodES256, strangerP256, valid(issEC), nil)), Identity{}, ReasonBadSignature, true},
		{"JWKS kid names the wrong key", bearer(sign(t, jwt.SigningMethodRS256, k.rsaOther, valid(issJWKS), map[string]any{"kid": "rsa-1"})), Identity{}, ReasonBadSignature, true},
		{"JWKS unknown kid", bearer(sign(t, jwt.SigningMethodRS256, k.rsa, valid(issJWKS), map[string]any{"kid": "nope"})), Identity{}, ReasonBadSignature, true},
		{"HMAC with a wrong secret", bearer(sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("s", 64)), hmacClaims, nil)), Identity{}, ReasonBadSignature, true},
		{"HMAC subject not listed, no default tier", bearer(sign(t, jwt.SigningMethodHS256, k.hmac, with(hmacClaims, "client_id", "mallory"), nil)), Identity{}, ReasonUnknownConsumer, true},
		{"consumer claim missing", bearer(sign(t, jwt.SigningMethodHS256, k.hmac, with(hmacClaims, "client_id", nil), nil)), Identity{}, ReasonUnknownConsumer, true},
		{"consumer claim not a string", bearer(sign(t, jwt.SigningMethodRS256, k.rsa, with(valid(issRSA), "sub", 42), nil)), Identity{}, ReasonUnknownConsumer, true},
		{"subject with white space", bearer(sign(t, jwt.SigningMethodRS256, k.rsa, with(valid(issRSA), "sub", "carol smith"), nil)), Identity{}, ReasonUnknownConsumer, true},
		{"subject with a control character", bearer(sign(t, jwt.SigningMethodRS256, k.rsa, with(valid(issRSA), "sub", "carol\n"), nil)), Identity{}, ReasonUnknownConsumer, true},
		{"consumer claim too long", bearer(sign(t, jwt.SigningMethodRS256, k.rsa, with(valid(issRSA), "sub", strings.Repeat("x", 257)), nil)), Identity{}, ReasonUnknownConsumer, true},
		{"malformed", bearer("eyJhbGciOi.eyJzdWIi.c2ln"), Identity{}, ReasonMalformed, true},
		{"oversized token", bearer("eyJh." + strings.Repeat("a", maxCredentialBytes) + ".sig"), Identity{}, ReasonMalformed, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.a.Authenticate(tt.header)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if got != tt.want {
					t.Fatalf("identity = %+v, want %+v", got, tt.want)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an *Error with reason %s", err, tt.reason)
			}
			if ae.Reason != tt.reason || ae.Bearer != tt.bearer {
				t.Fatalf("reason = %s (bearer %v), want %s (bearer %v); err: %v", ae.Reason, ae.Bearer, tt.reason, tt.bearer, err)
			}
			if got != (Identity{}) {
				t.Fatalf("identity %+v returned with an error", got)
			}
			// Neither the log text nor the client text may carry the credential.
			cred := ExtractCredential(tt.header).Value
			for _, text := range []string{err.Error(), ae.Message(), ae.WWWAuthenticate()} {
				if len(cred) >= 8 && strings.Contains(text, cred) {
					t.Fatalf("credential leaked into %q", text)
				}
			}
		})
	}
}

// offByOne changes the key's last character (to one it is not: a random key
// ends in any base64url character).
func offByOne(key string) string {
	last := "A"
	if strings.HasSuffix(key, last) {
		last = "B"
	}
	return key[:len(key)-1] + last
}
