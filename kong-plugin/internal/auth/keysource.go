package auth

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
)

// loadKeys resolves the issuer's key reference into a Source that follows
// its file (issue 12: a key removed from a mounted Secret stops verifying
// without a restart). The checks that refuse a config at load refuse a
// rotated file too, which then leaves the keys read before in use.
func (iss *issuer) loadKeys(ic Issuer, opts secret.WatchOptions) error {
	var err error
	switch {
	case ic.Secret != "":
		iss.hmacSecret, err = secret.Watch(ic.Secret, func(b []byte) ([]byte, error) {
			// RFC 7518 3.2: the key must be at least as long as the hash output.
			if len(b) < 32 {
				return nil, fmt.Errorf("HMAC key of %d bytes is too short (minimum 32)", len(b))
			}
			return bytes.Clone(b), nil
		}, opts)
		if err != nil {
			return fmt.Errorf("secret: %w", err)
		}
	case ic.PublicKey != "":
		iss.publicKeys, err = secret.Watch(ic.PublicKey, iss.fitting(parsePEMKeys), opts)
		if err != nil {
			return fmt.Errorf("public_key: %w", err)
		}
	case ic.JWKS != "":
		iss.publicKeys, err = secret.Watch(ic.JWKS, iss.fitting(parseJWKS), opts)
		if err != nil {
			return fmt.Errorf("jwks: %w", err)
		}
	default:
		return errors.New("no key reference")
	}
	return nil
}

// fitting wraps a key parser with the check that each allowed algorithm has
// at least one key that fits it, so a config mistake shows at load time
// instead of as 401s.
func (iss *issuer) fitting(parse func([]byte) ([]verificationKey, error)) func([]byte) ([]verificationKey, error) {
	return func(data []byte) ([]verificationKey, error) {
		keys, err := parse(data)
		if err != nil {
			return nil, err
		}
		for _, alg := range iss.algorithms {
			if !slices.ContainsFunc(keys, func(k verificationKey) bool { return k.fits(alg) }) {
				return nil, fmt.Errorf("algorithms: no configured key fits %s", alg)
			}
		}
		return keys, nil
	}
}
