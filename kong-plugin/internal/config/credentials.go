package config

import (
	"bufio"
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/modelgate/modelgate/internal/pathbound"
	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
	"github.com/modelgate/modelgate/kong-plugin/internal/trust"
)

// The repository's DEMO credentials, recognised by value: the root kong.yml
// and the README use them so that `make run` works on a laptop, and anyone
// can read them (the API key is in the README, the JWT private key in
// deploy/keys). They are refused unless demo mode is on.
const (
	// DemoAPIKeySHA256 is the SHA-256 of the DEMO API key mg_demo_e61044aa….
	DemoAPIKeySHA256 = "898a4dea032785185a1d2134d113830c204d92cd8ab94298911e6fd455141808"
	// demoJWTModulusSHA256 is the SHA-256 of the modulus of the DEMO
	// issuer's RSA key (deploy/keys/demo-jwt-rs256.pub): the same key
	// whether a file holds it as PUBLIC KEY, RSA PUBLIC KEY, a certificate
	// or a JWK.
	demoJWTModulusSHA256 = "8775c71163f7f0890ceedb385b59168848f721621d92a695b4fbd1a290f43bbf"
)

// filePrefix starts a file: secret reference.
const filePrefix = "file:"

// DemoEnv is the environment variable that turns demo mode on ("1"): the
// DEMO credentials are then accepted. `make run` sets it; nothing under
// deploy/ does.
const DemoEnv = "MODELGATE_DEMO"

// ErrDemoCredential is wrapped by every refusal of a DEMO credential.
var ErrDemoCredential = errors.New("is the repository's public DEMO credential; generate your own (deploy/secrets.sh, modelgate keygen) or, on a laptop, set " + DemoEnv + "=1")

// CheckCredentials reads the credential files the auth section names (in
// the policy's SecretFolders only, as the secret package would) and refuses the DEMO ones
// unless demo is true. A file that cannot be read is refused too, naming
// it. Errors name the field and the file, never a value.
func (c Config) CheckCredentials(demo bool, policy trust.Policy) error {
	return c.checkCredentials(demo, policy, true)
}

// CheckDemoCredentials is CheckCredentials for a machine that is not the
// one the config runs on (modelgate check): a credential file it cannot
// read is left out, the DEMO credentials it can see are refused the same way.
func (c Config) CheckDemoCredentials(demo bool, policy trust.Policy) error {
	return c.checkCredentials(demo, policy, false)
}

func (c Config) checkCredentials(demo bool, policy trust.Policy, mustRead bool) error {
	var errs []error
	read := func(where, ref string) []byte {
		data, err := secret.Resolve(filePrefix+policy.Path(strings.TrimPrefix(ref, filePrefix)), policy.SecretFolders())
		if err != nil && (mustRead || errors.Is(err, pathbound.ErrOutside)) {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
		return data
	}
	for i, cons := range c.Auth.Consumers {
		for j, h := range cons.KeySHA256 {
			where := fmt.Sprintf("auth.consumers[%d].key_sha256[%d]", i, j)
			if !strings.HasPrefix(h, filePrefix) {
				if !demo && strings.EqualFold(h, DemoAPIKeySHA256) {
					errs = append(errs, fmt.Errorf("%s: the DEMO API key's digest %w", where, ErrDemoCredential))
				}
				continue
			}
			if data := read(where, h); !demo && holdsDemoDigest(data) {
				errs = append(errs, fmt.Errorf("%s: %s holds the DEMO API key's digest, which %w", where, h, ErrDemoCredential))
			}
		}
	}
	for i, iss := range c.Auth.JWT {
		for _, ref := range []struct{ field, ref string }{{"public_key", iss.PublicKey}, {"jwks", iss.JWKS}} {
			if ref.ref == "" {
				continue
			}
			where := fmt.Sprintf("auth.jwt[%d].%s", i, ref.field)
			if data := read(where, ref.ref); !demo && holdsDemoJWTKey(data) {
				errs = append(errs, fmt.Errorf("%s: %s holds the DEMO issuer's public key (its private key is committed in deploy/keys), which %w", where, ref.ref, ErrDemoCredential))
			}
		}
	}
	return errors.Join(errs...)
}

func holdsDemoDigest(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 0 && strings.EqualFold(f[0], DemoAPIKeySHA256) {
			return true
		}
	}
	return false
}

// holdsDemoJWTKey reports whether PEM or JWKS data holds the DEMO RSA key.
// What does not parse is left to the auth section's own checks.
func holdsDemoJWTKey(data []byte) bool {
	for _, n := range rsaModuli(data) {
		sum := sha256.Sum256(n)
		if hex.EncodeToString(sum[:]) == demoJWTModulusSHA256 {
			return true
		}
	}
	return false
}

func rsaModuli(data []byte) [][]byte {
	var moduli [][]byte
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		var set struct {
			Keys []struct {
				Kty string `json:"kty"`
				N   string `json:"n"`
			} `json:"keys"`
		}
		if json.Unmarshal(data, &set) == nil {
			for _, k := range set.Keys {
				if n, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.N, "=")); k.Kty == "RSA" && err == nil {
					moduli = append(moduli, bytes.TrimLeft(n, "\x00"))
				}
			}
		}
		return moduli
	}
	for {
		var block *pem.Block
		if block, data = pem.Decode(data); block == nil {
			return moduli
		}
		var key any
		switch block.Type {
		case "PUBLIC KEY":
			key, _ = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, _ = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			if cert, err := x509.ParseCertificate(block.Bytes); err == nil {
				key = cert.PublicKey
			}
		}
		if k, ok := key.(*rsa.PublicKey); ok {
			moduli = append(moduli, k.N.Bytes())
		}
	}
}
