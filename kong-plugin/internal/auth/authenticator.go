// Package auth authenticates inference requests: API keys (stored as SHA-256
// digests, never in clear) and JWTs from configured issuers. It knows nothing
// of Kong: headers in, an Identity or an *Error (always HTTP 401) out.
package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
)

// Identity is who a request authenticated as.
type Identity struct {
	// Consumer is the consumer name: a configured consumer's, or
	// `<issuer name>:<subject>` for a JWT subject its issuer does not map.
	Consumer string
	// Tier is the consumer's quota tier.
	Tier string
	// Method is "apikey" or "jwt".
	Method string
}

// The Identity.Method values.
const (
	MethodAPIKey = "apikey"
	MethodJWT    = "jwt"
)

// Authenticator checks credentials against a compiled auth config. It is
// immutable after New, but for issuers' key files, which it follows (see
// secret.Source), and safe for concurrent use.
type Authenticator struct {
	// keys maps the SHA-256 of each API key, inline or in a followed
	// file: list (keyfile.go), to its consumer. Lookup is by the digest of
	// the presented key: see lookupKey for why that is safe against
	// timing attacks.
	keys      *keyIndex
	consumers map[string]consumerEntry
	issuers   map[string]*issuer
	// now is the clock, replaceable in tests of expiry.
	now func() time.Time
	// watch says how key files are followed (see WithSecretWatch).
	watch secret.WatchOptions
}

// Option configures New.
type Option func(*Authenticator)

// WithSecretWatch sets how issuers' key files are re-read when they change
// (the interval, and the logger that reports rotations).
func WithSecretWatch(opts secret.WatchOptions) Option {
	return func(a *Authenticator) { a.watch = opts }
}

type consumerEntry struct {
	name, tier string
}

// New validates cfg and compiles it: key digests decoded, PEM and JWKS keys
// parsed, HMAC secrets resolved. Errors name the config field, never a secret.
func New(cfg Config, opts ...Option) (*Authenticator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Authenticator{
		consumers: map[string]consumerEntry{},
		issuers:   map[string]*issuer{},
		now:       time.Now,
	}
	for _, o := range opts {
		o(a)
	}
	inline := map[keyDigest]consumerEntry{}
	var files []keyFile
	for _, c := range cfg.Consumers {
		entry := consumerEntry{name: c.Name, tier: c.Tier}
		a.consumers[c.Name] = entry
		for _, h := range c.KeySHA256 {
			if strings.HasPrefix(h, "file:") {
				kf, err := watchKeyFile(h, entry, a.watch)
				if err != nil {
					return nil, fmt.Errorf("auth.consumers (%s).key_sha256: %w", c.Name, err)
				}
				files = append(files, kf)
				continue
			}
			var d keyDigest
			// Validate checked the length and the hex.
			// Validate refused a digest listed inline for two consumers.
			_, _ = hex.Decode(d[:], []byte(strings.ToLower(h)))
			inline[d] = entry
		}
	}
	keys, err := newKeyIndex(inline, files, a.watch)
	if err != nil {
		return nil, err
	}
	a.keys = keys
	var errs []error
	for i, ic := range cfg.JWT {
		iss, err := compileIssuer(ic, a)
		if err != nil {
			errs = append(errs, fmt.Errorf("auth.jwt[%d] (%s): %w", i, ic.Issuer, err))
			continue
		}
		a.issuers[ic.Issuer] = iss
		warnNoAudience(a.watch.Logger, ic)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return a, nil
}

// Authenticate finds the request's credential (see ExtractCredential) and
// checks it. Every failure is an *Error, mapped to HTTP 401.
func (a *Authenticator) Authenticate(h http.Header) (Identity, error) {
	cred := ExtractCredential(h)
	switch cred.Kind {
	case APIKey:
		return a.authenticateKey(cred.Value)
	case JWT:
		return a.authenticateJWT(cred.Value)
	default:
		// Challenge with the scheme the deployment uses most plainly: keys
		// when any consumer has one, else bearer tokens.
		return Identity{}, fail(ReasonMissing, a.keys.empty() && len(a.issuers) > 0, nil)
	}
}

func (a *Authenticator) authenticateKey(key string) (Identity, error) {
	if len(key) > maxCredentialBytes {
		return Identity{}, fail(ReasonInvalidKey, false, errors.New("API key too long"))
	}
	entry, ok := a.lookupKey(key)
	if !ok {
		return Identity{}, fail(ReasonInvalidKey, false, errors.New("no consumer has this API key"))
	}
	return Identity{Consumer: entry.name, Tier: entry.tier, Method: MethodAPIKey}, nil
}

// lookupKey finds the consumer of an API key by the SHA-256 of the presented
// key, with a map lookup rather than a constant-time comparison against every
// stored digest. Why that is safe: what gets compared is SHA-256(presented
// key) with stored digests, never key bytes with key bytes. A timing side
// channel could at most tell an attacker how far SHA-256 of a guess agrees
// with some stored digest, and steering a SHA-256 output towards a chosen
// prefix is a preimage search, so the leak does not help find a key. Inline
// digests are one map lookup whatever their number, where a loop of
// subtle.ConstantTimeCompare over every digest would cost O(n) per request;
// the `file:` lists' digests are in the same map (keyIndex), so a hit or a
// miss costs one lookup however many files there are, plus, at most every
// check interval, a look at the files.
func (a *Authenticator) lookupKey(key string) (consumerEntry, bool) {
	return a.keys.lookup(sha256.Sum256([]byte(key)))
}
