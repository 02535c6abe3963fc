package auth

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
)

// Config is the `auth` section of the plugin config. go-pdk derives Kong's
// schema from it by reflection, so it holds only strings, bools, ints, slices
// and structs, with plain json tags; durations are strings.
type Config struct {
	// Consumers are the known consumers: their tier and their API keys.
	Consumers []Consumer `json:"consumers"`
	// JWT lists the trusted token issuers.
	JWT []Issuer `json:"jwt"`
	// KongConsumer asks the Kong adapter to load the Kong consumer with the
	// authenticated consumer's name as username and call
	// kong.client.authenticate, so Kong's own logging and analytics see it.
	KongConsumer bool `json:"kong_consumer"`
}

// Consumer is one consumer: a name, the quota tier it belongs to and the
// SHA-256 digests of its API keys. A JWT is served as a configured consumer
// only where its issuer's `subjects` map says so.
type Consumer struct {
	// Name identifies the consumer in quotas, routing pins, allow lists and
	// Kong's consumer lookup. It never contains ":" (see NamespaceSeparator).
	Name string `json:"name"`
	// Tier names a tier of the quotas section.
	Tier string `json:"tier"`
	// KeySHA256 holds the lowercase or uppercase hex SHA-256 of each API key
	// (`modelgate keygen` prints it), or `file:PATH` references to files of
	// such digests, one per line (deploy/secrets.sh writes one), followed
	// when they change. Several keys allow rotation.
	KeySHA256 []string `json:"key_sha256"`
}

// Issuer is one trusted JWT issuer. Exactly one of PublicKey, JWKS or Secret
// holds its verification key(s), and Algorithms must fit that key type: an
// HMAC secret only with HS*, public keys only with RS*/PS*/ES*/EdDSA, so an
// HMAC token can never be checked against a public key (key confusion).
type Issuer struct {
	// Issuer is the exact `iss` claim value tokens must carry.
	Issuer string `json:"issuer"`
	// Name is the namespace of the issuer's subjects: a subject s is the
	// consumer `<name>:<s>` in quotas, pins, allow lists, metrics and Kong's
	// consumer lookup. Default: the issuer value itself.
	Name string `json:"name"`
	// Subjects maps subjects to configured consumers (auth.consumers[].name)
	// explicitly: a token for a listed subject is served as that consumer,
	// with its tier, pins, allow lists and quota counters. No other subject
	// is ever served as a configured consumer.
	Subjects map[string]string `json:"subjects"`
	// Algorithms are the allowed `alg` values: HS256, HS384, HS512, RS256,
	// RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA.
	Algorithms []string `json:"algorithms"`
	// PublicKey is a secret reference (`file:PATH` or `env:NAME`) to PEM
	// data: one or more PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE blocks.
	PublicKey string `json:"public_key"`
	// JWKS is a secret reference to a JSON Web Key Set (RSA, EC and OKP
	// Ed25519 public keys; a token's `kid` selects the key when present).
	JWKS string `json:"jwks"`
	// Secret is a secret reference to the HMAC key.
	Secret string `json:"secret"`
	// Audiences: a token must name at least one of them in `aud`. Empty means
	// the audience is not checked.
	Audiences []string `json:"audiences"`
	// ConsumerClaim is the claim naming the consumer; default "sub".
	ConsumerClaim string `json:"consumer_claim"`
	// DefaultTier is the tier of subjects not mapped by Subjects. Empty
	// means only mapped subjects are accepted from this issuer.
	DefaultTier string `json:"default_tier"`
	// Leeway is the clock skew tolerated on exp and nbf ("30s"); default 0.
	Leeway string `json:"leeway"`
}

// DefaultConsumerClaim is the claim that names the consumer when an issuer
// does not say otherwise.
const DefaultConsumerClaim = "sub"

// maxLeeway bounds Leeway: a larger skew makes expiry meaningless.
const maxLeeway = 10 * time.Minute

// Validate reports every problem of the section at once (joined with
// errors.Join), without reading any key material. New validates again.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	names := map[string]bool{}
	hashes := map[string]string{}
	for i, cons := range c.Consumers {
		where := fmt.Sprintf("auth.consumers[%d]", i)
		if cons.Name == "" {
			add("%s.name: required", where)
		} else if err := checkConfiguredName(cons.Name); err != nil {
			add("%s.name: %w", where, err)
		} else if names[cons.Name] {
			add("%s.name: duplicate consumer %q", where, cons.Name)
		}
		names[cons.Name] = true
		if cons.Tier == "" {
			add("%s.tier: required", where)
		}
		for j, h := range cons.KeySHA256 {
			if strings.HasPrefix(h, "file:") {
				if err := secret.Check(h); err != nil {
					add("%s.key_sha256[%d]: %w", where, j, err)
				}
				continue
			}
			if err := checkDigest(h); err != nil {
				add("%s.key_sha256[%d]: %w", where, j, err)
				continue
			}
			h = strings.ToLower(h)
			if other, dup := hashes[h]; dup {
				add("%s.key_sha256[%d]: the same key is already listed for consumer %q", where, j, other)
			}
			hashes[h] = cons.Name
		}
	}

	issuers := map[string]bool{}
	namespaces := map[string]int{}
	for i, iss := range c.JWT {
		where := fmt.Sprintf("auth.jwt[%d]", i)
		duplicate := issuers[iss.Issuer]
		if iss.Issuer == "" {
			add("%s.issuer: required", where)
		} else if duplicate {
			add("%s.issuer: duplicate issuer %q", where, iss.Issuer)
		}
		issuers[iss.Issuer] = true
		errs = append(errs, iss.validate(where)...)
		if iss.Name != "" {
			if err := checkConfiguredName(iss.Name); err != nil {
				add("%s.name: %w", where, err)
			}
		}
		if ns := iss.Namespace(); ns != "" && !(duplicate && iss.Name == "") {
			if other, dup := namespaces[ns]; dup {
				add("%s.name: namespace %q is already auth.jwt[%d]'s", where, ns, other)
			}
			namespaces[ns] = i
		}
		for subject, consumer := range iss.Subjects {
			if err := checkNameChars(subject); err != nil {
				add("%s.subjects: subject %q: %w", where, subject, err)
			}
			if !names[consumer] {
				add("%s.subjects.%s: %q is not in auth.consumers", where, subject, consumer)
			}
		}
	}
	// A namespace that is another's plus ":..." would let one issuer's
	// subject ("b:c" from "a") be another's ("c" from "a:b").
	for ns, i := range namespaces {
		for other := range namespaces {
			if ns != other && strings.HasPrefix(ns, other+NamespaceSeparator) {
				add("auth.jwt[%d].name: namespace %q starts with auth.jwt[%d]'s %q and %q: set distinct names",
					i, ns, namespaces[other], other, NamespaceSeparator)
			}
		}
	}
	return errors.Join(errs...)
}

// Namespace is the prefix of the consumer names of the issuer's subjects:
// Name, else the issuer value.
func (iss Issuer) Namespace() string {
	if iss.Name != "" {
		return iss.Name
	}
	return iss.Issuer
}

// TierNames lists every tier the section refers to (consumer tiers and
// issuers' default tiers), once each, for the cross-section check that the
// quotas section defines them all.
func (c Config) TierNames() []string {
	seen := map[string]bool{}
	var names []string
	add := func(name string) {
		if name != "" && !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	for _, cons := range c.Consumers {
		add(cons.Tier)
	}
	for _, iss := range c.JWT {
		add(iss.DefaultTier)
	}
	return names
}

func (iss Issuer) validate(where string) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	sources := 0
	for _, s := range []struct{ field, ref string }{{"public_key", iss.PublicKey}, {"jwks", iss.JWKS}, {"secret", iss.Secret}} {
		if s.ref == "" {
			continue
		}
		sources++
		if err := secret.Check(s.ref); err != nil {
			add("%s.%s: %w", where, s.field, err)
		}
	}
	if sources != 1 {
		add("%s: exactly one of public_key, jwks or secret is required", where)
	}

	if len(iss.Algorithms) == 0 {
		add("%s.algorithms: at least one algorithm is required", where)
	}
	for _, alg := range iss.Algorithms {
		family, ok := algorithmFamilies[alg]
		switch {
		case !ok:
			add("%s.algorithms: unsupported algorithm %q (none is never accepted)", where, alg)
		case iss.Secret != "" && family != familyHMAC:
			add("%s.algorithms: %s needs a public key, but the issuer has an HMAC secret", where, alg)
		case iss.Secret == "" && family == familyHMAC:
			add("%s.algorithms: %s needs an HMAC secret, but the issuer has public keys", where, alg)
		}
	}
	if iss.Leeway != "" {
		if d, err := time.ParseDuration(iss.Leeway); err != nil {
			add("%s.leeway: %w", where, err)
		} else if d < 0 || d > maxLeeway {
			add("%s.leeway: must be between 0 and %s", where, maxLeeway)
		}
	}
	return errs
}

func checkDigest(h string) error {
	if len(h) != 64 {
		return fmt.Errorf("want 64 hex characters (a SHA-256 digest, never the key itself), got %d characters", len(h))
	}
	if _, err := hex.DecodeString(h); err != nil {
		return errors.New("not hex (want the SHA-256 digest of the key, never the key itself)")
	}
	return nil
}
