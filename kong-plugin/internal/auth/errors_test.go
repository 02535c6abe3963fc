package auth

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestErrorChallenges(t *testing.T) {
	tests := []struct {
		err         *Error
		www, client string
	}{
		{fail(ReasonMissing, false, nil), `Key realm="modelgate"`, "No API key or token found in request"},
		{fail(ReasonInvalidKey, false, errors.New("x")), `Key realm="modelgate"`, "Invalid authentication credentials"},
		{fail(ReasonMissing, true, nil), `Bearer realm="modelgate"`, "No API key or token found in request"},
		{fail(ReasonExpired, true, nil), `Bearer realm="modelgate", error="invalid_token"`, "Token expired"},
		{fail(ReasonBadSignature, true, nil), `Bearer realm="modelgate", error="invalid_token"`, "Invalid token"},
	}
	for _, tt := range tests {
		if got := tt.err.WWWAuthenticate(); got != tt.www {
			t.Errorf("%s: WWWAuthenticate = %q, want %q", tt.err.Reason, got, tt.www)
		}
		if got := tt.err.Message(); got != tt.client {
			t.Errorf("%s: Message = %q, want %q", tt.err.Reason, got, tt.client)
		}
	}
}

// With only JWT issuers configured, a request without credentials is
// challenged for a bearer token; with API keys, for a key.
func TestMissingChallengeFollowsConfig(t *testing.T) {
	f := newFixture(t)
	_, err := f.a.Authenticate(http.Header{})
	var ae *Error
	if !errors.As(err, &ae) || ae.Bearer {
		t.Fatalf("with API keys: %v, want a Key challenge", err)
	}
	jwtOnly, err := New(Config{JWT: []Issuer{{Issuer: "https://x.example", Algorithms: []string{"RS256"}, PublicKey: writePEM(t, &keys(t).rsa.PublicKey)}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = jwtOnly.Authenticate(http.Header{})
	if !errors.As(err, &ae) || !ae.Bearer || ae.WWWAuthenticate() != `Bearer realm="modelgate"` {
		t.Fatalf("JWT only: %v, want a Bearer challenge", err)
	}
}

func TestReasonsAreDistinct(t *testing.T) {
	seen := map[Reason]bool{}
	for _, r := range Reasons() {
		if seen[r] || r == "" {
			t.Fatalf("reason %q repeated or empty", r)
		}
		seen[r] = true
	}
}

// Looking a key up costs the same with thousands of consumers: the lookup is
// by the digest of the presented key.
func BenchmarkAPIKeyLookup(b *testing.B) {
	for _, n := range []int{1, 10000} {
		cfg := Config{}
		var last string
		for i := range n {
			last = randomKey(b)
			cfg.Consumers = append(cfg.Consumers, Consumer{Name: "c" + strconv.Itoa(i), Tier: "free", KeySHA256: []string{digest(last)}})
		}
		a, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		h := http.Header{"Apikey": {last}}
		b.Run(strconv.Itoa(n)+"-consumers", func(b *testing.B) {
			for b.Loop() {
				if _, err := a.Authenticate(h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkJWTRS256(b *testing.B) {
	k := keys(b)
	a, err := New(Config{JWT: []Issuer{{Issuer: issRSA, Algorithms: []string{"RS256"}, PublicKey: writePEM(b, &k.rsa.PublicKey), DefaultTier: "free"}}})
	if err != nil {
		b.Fatal(err)
	}
	h := http.Header(bearer(sign(b, jwt.SigningMethodRS256, k.rsa, claimsFor(issRSA, "carol", audience, time.Now()), nil)))
	for b.Loop() {
		if _, err := a.Authenticate(h); err != nil {
			b.Fatal(err)
		}
	}
}
