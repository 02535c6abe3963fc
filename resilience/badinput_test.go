package resilience

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modelgate/modelgate/bench"
)

const (
	jwtIssuer   = "https://issuer.resilience.test"
	jwtAudience = "modelgate"
	maxBody     = 64 << 10
)

// jwtKeys is the issuer's RSA key (its public half in the config) and an
// attacker's key that signs forged tokens.
type jwtKeys struct {
	issuer, forger *rsa.PrivateKey
	pubFile        string
}

func newJWTKeys(t *testing.T) jwtKeys {
	t.Helper()
	var k jwtKeys
	var err error
	if k.issuer, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.forger, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.issuer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	k.pubFile = filepath.Join(t.TempDir(), "issuer.pub")
	if err := os.WriteFile(k.pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

func (k jwtKeys) issuerConfig() map[string]any {
	return map[string]any{
		"issuer": jwtIssuer, "algorithms": []string{"RS256"}, "public_key": "file:" + k.pubFile,
		"audiences": []string{jwtAudience}, "consumer_claim": "sub", "default_tier": bench.HugeTier()["name"],
	}
}

func claims(aud string, exp time.Time) jwt.MapClaims {
	return jwt.MapClaims{"iss": jwtIssuer, "sub": "someone", "aud": aud, "exp": exp.Unix(), "iat": time.Now().Add(-time.Minute).Unix()}
}

func sign(t *testing.T, method jwt.SigningMethod, c jwt.MapClaims, key any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// badCase is one request a client should be told off for.
type badCase struct {
	name   string
	method string
	path   string
	body   string
	header http.Header
	// want is the exact status when the protocol fixes it; 0 means any 4xx.
	want int
}

func infer(a, b string) string {
	return `{"inputs":[{"name":"a","datatype":"FP32","shape":` + a + `},{"name":"b","datatype":"FP32","shape":` + b + `}]}`
}

func badCases(t *testing.T, s *serve, k jwtKeys) []badCase {
	key := http.Header{"Apikey": {s.key}}
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	good := claims(jwtAudience, time.Now().Add(time.Hour))
	forged := sign(t, jwt.SigningMethodRS256, good, k.forger)
	none := sign(t, jwt.SigningMethodNone, good, jwt.UnsafeAllowNoneSignatureType)
	expired := sign(t, jwt.SigningMethodRS256, claims(jwtAudience, time.Now().Add(-time.Hour)), k.issuer)
	wrongAud := sign(t, jwt.SigningMethodRS256, claims("someone-else", time.Now().Add(time.Hour)), k.issuer)
	// A valid token whose signature bytes are flipped: same header and claims.
	parts := strings.Split(sign(t, jwt.SigningMethodRS256, good, k.issuer), ".")
	sig := []byte(parts[2])
	sig[5] ^= 'A' ^ 'B'
	flipped := strings.Join([]string{parts[0], parts[1], string(sig)}, ".")

	const p = "/v2/models/adder/infer"
	many := http.Header{"Apikey": {s.key}}
	for i := range 10000 {
		many.Set(fmt.Sprintf("X-Filler-%05d", i), "x")
	}
	return []badCase{
		{name: "malformed JSON", path: p, body: `{"inputs":[{"name":"a",,}]}`, header: key, want: 400},
		{name: "truncated JSON", path: p, body: adderBody[:len(adderBody)/2], header: key, want: 400},
		{name: "not JSON at all", path: p, body: "\x00\x01binary", header: key, want: 400},
		{name: "deeply nested data", path: p, header: key, want: 400,
			body: `{"inputs":[{"name":"a","datatype":"FP32","shape":[1,4],"data":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}]}`},
		{name: "deeply nested object", path: p, header: key, want: 400, body: strings.Repeat(`{"x":`, 10000) + "1" + strings.Repeat("}", 10000)},
		// text/plain and curl's form type are accepted as JSON on purpose (what curl and Triton clients send).
		{name: "wrong content type", path: p, body: adderBody, header: http.Header{"Apikey": {s.key}, "Content-Type": {"application/xml"}}, want: 415},
		{name: "shape and data length differ", path: p, header: key, want: 400,
			body: `{"inputs":[{"name":"a","datatype":"FP32","shape":[1,4],"data":[1,2,3]},{"name":"b","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}`},
		{name: "negative dim", path: p, header: key, want: 400, body: infer(`[-1,4],"data":[1,2,3,4]`, `[1,4],"data":[1,2,3,4]`)},
		{name: "huge dims", path: p, header: key, want: 400, body: infer(`[4294967296,4294967296],"data":[1]`, `[1,4],"data":[1,2,3,4]`)},
		{name: "overflowing dims", path: p, header: key, want: 400, body: infer(`[9223372036854775807,9223372036854775807],"data":[1]`, `[1,4],"data":[1,2,3,4]`)},
		{name: "NaN", path: p, header: key, want: 400, body: infer(`[1,4],"data":[NaN,2,3,4]`, `[1,4],"data":[1,2,3,4]`)},
		{name: "NaN as a string", path: p, header: key, want: 400, body: infer(`[1,4],"data":["NaN",2,3,4]`, `[1,4],"data":[1,2,3,4]`)},
		{name: "Infinity", path: p, header: key, want: 400, body: infer(`[1,4],"data":[1e999,2,3,4]`, `[1,4],"data":[1,2,3,4]`)},
		{name: "wrong datatype for the model", path: p, header: key, want: 400,
			body: `{"inputs":[{"name":"a","datatype":"INT64","shape":[1,4],"data":[1,2,3,4]},{"name":"b","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}`},
		{name: "unknown datatype", path: p, header: key, want: 400,
			body: `{"inputs":[{"name":"a","datatype":"FP99","shape":[1,4],"data":[1,2,3,4]},{"name":"b","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}`},
		{name: "wrong rank", path: p, header: key, want: 400, body: infer(`[4],"data":[1,2,3,4]`, `[4],"data":[1,2,3,4]`)},
		{name: "unknown input name", path: p, header: key, want: 400,
			body: `{"inputs":[{"name":"../a","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]},{"name":"b","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}`},
		{name: "unknown model", path: "/v2/models/nosuchmodel/infer", body: adderBody, header: key, want: 404},
		{name: "unknown version", path: "/v2/models/adder/versions/99/infer", body: adderBody, header: key, want: 404},
		{name: "model name with ..", path: "/v2/models/a..b/infer", body: adderBody, header: key},
		{name: "model name with encoded /", path: "/v2/models/..%2Fadder/infer", body: adderBody, header: key},
		{name: "version with encoded ../", path: "/v2/models/adder/versions/..%2F1/infer", body: adderBody, header: key},
		{name: "predict label with ..", path: "/v1/models/adder/labels/..:predict", body: `{"instances":[[1,2,3,4]]}`, header: key},
		{name: "body over the limit", path: p, header: key, want: 413,
			body: `{"inputs":[{"name":"a","datatype":"FP32","shape":[1,4],"data":[1,2,3,4` + strings.Repeat(",1", maxBody) + `]}]}`},
		{name: "ten thousand headers", path: p, body: adderBody, header: many},
		{name: "no credentials", path: p, body: adderBody, want: 401},
		{name: "wrong API key", path: p, body: adderBody, header: http.Header{"Apikey": {"mg_not-a-key"}}, want: 401},
		{name: "JWT alg none", path: p, body: adderBody, header: bearer(none), want: 401},
		{name: "JWT forged signature", path: p, body: adderBody, header: bearer(forged), want: 401},
		{name: "JWT flipped signature byte", path: p, body: adderBody, header: bearer(flipped), want: 401},
		{name: "JWT expired", path: p, body: adderBody, header: bearer(expired), want: 401},
		{name: "JWT wrong audience", path: p, body: adderBody, header: bearer(wrongAud), want: 401},
		{name: "JWT garbage", path: p, body: adderBody, header: bearer("a.b.c"), want: 401},
	}
}

// TestBadInputIsAClientError sends each kind of bad request and wants a
// 4xx with a JSON {"error": ...} body, in time, from a server that then
// still serves a good request.
func TestBadInputIsAClientError(t *testing.T) {
	repo := t.TempDir()
	copyModel(t, repo, "adder", "", "1")
	k := newJWTKeys(t)
	s := startServe(t, bench.GatewayConfig{
		Sidecar: launchSidecar(t, repo),
		JWT:     []map[string]any{k.issuerConfig()},
		Limits:  map[string]any{"max_body_bytes": maxBody, "default_timeout": "10s"},
	})
	// A good request first: the bad ones below must fail for their own reason.
	if r := s.infer(t.Context(), "/v2/models/adder/infer", adderBody, 30*time.Second); r.status != http.StatusOK {
		t.Fatalf("good request: %v", r)
	}
	goodJWT := sign(t, jwt.SigningMethodRS256, claims(jwtAudience, time.Now().Add(time.Hour)), k.issuer)
	if r := s.do(t.Context(), "POST", "/v2/models/adder/infer", []byte(adderBody), http.Header{"Authorization": {"Bearer " + goodJWT}}); r.status != http.StatusOK {
		t.Fatalf("good JWT: %v", r)
	}
	for _, c := range badCases(t, s, k) {
		t.Run(c.name, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = "POST"
			}
			ctx, cancel := contextTimeout(t, 20*time.Second)
			defer cancel()
			header := c.header.Clone()
			if header == nil {
				header = http.Header{}
			}
			r := s.do(ctx, method, c.path, []byte(c.body), header)
			if r.err != nil {
				t.Fatalf("no answer within 20s: %v", r.err)
			}
			if r.status < 400 || r.status >= 500 || (c.want != 0 && r.status != c.want) {
				t.Fatalf("status %d, want %s: %.300s", r.status, wantText(c.want), r.body)
			}
			if r.status == http.StatusRequestHeaderFieldsTooLarge && c.name == "ten thousand headers" {
				// Refused by the HTTP server before any handler runs (as
				// nginx does in front of Kong), with its own plain body.
				t.Logf("%d %.80s", r.status, r.body)
				return
			}
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
				t.Fatalf("status %d with a body that is not {\"error\": ...}: %.300q", r.status, r.body)
			}
			t.Logf("%d %s", r.status, e.Error)
		})
	}
	if r := s.infer(t.Context(), "/v2/models/adder/infer", adderBody, 30*time.Second); r.status != http.StatusOK {
		t.Fatalf("good request after the bad ones: %v", r)
	}
	select {
	case <-s.exited:
		t.Fatal("modelgate serve exited")
	default:
	}
}

func wantText(want int) string {
	if want == 0 {
		return "a 4xx"
	}
	return fmt.Sprint(want)
}
