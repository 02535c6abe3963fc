package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// keyFamily groups the JWT algorithms that share a key type.
type keyFamily int

const (
	familyHMAC keyFamily = iota + 1
	familyRSA            // RS* and PS*
	familyEC             // ES*, with the curve fixed by the algorithm
	familyEd25519
)

// algorithmFamilies maps every accepted alg to its key type. "none" is absent
// on purpose: it is never accepted, whatever the config says.
var algorithmFamilies = map[string]keyFamily{
	"HS256": familyHMAC, "HS384": familyHMAC, "HS512": familyHMAC,
	"RS256": familyRSA, "RS384": familyRSA, "RS512": familyRSA,
	"PS256": familyRSA, "PS384": familyRSA, "PS512": familyRSA,
	"ES256": familyEC, "ES384": familyEC, "ES512": familyEC,
	"EdDSA": familyEd25519,
}

// ecCurves is the curve each ES algorithm requires (RFC 7518 3.4).
var ecCurves = map[string]elliptic.Curve{
	"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521(),
}

// minRSABits refuses RSA keys too short to trust (RFC 7518 3.3 asks for 2048).
const minRSABits = 2048

// verificationKey is one public key with the kid and alg it was published
// under (JWKS; both optional).
type verificationKey struct {
	kid string
	alg string
	key crypto.PublicKey
}

// fits reports whether k can verify a token signed with alg.
func (k verificationKey) fits(alg string) bool {
	if k.alg != "" && k.alg != alg {
		// RFC 7517 4.4: a key published for one algorithm is used for no other.
		return false
	}
	switch key := k.key.(type) {
	case *rsa.PublicKey:
		return algorithmFamilies[alg] == familyRSA
	case *ecdsa.PublicKey:
		return algorithmFamilies[alg] == familyEC && ecCurves[alg] == key.Curve
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// parsePEMKeys reads every public key in PEM data (several blocks allow key
// rotation). Private keys are refused: the gateway only verifies.
func parsePEMKeys(data []byte) ([]verificationKey, error) {
	var keys []verificationKey
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				key = cert.PublicKey
			}
		default:
			// Never echo the block: it might be a private key.
			return nil, fmt.Errorf("PEM block of type %q is not a public key or certificate", block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM %s: %w", block.Type, err)
		}
		if err := checkPublicKey(key); err != nil {
			return nil, err
		}
		keys = append(keys, verificationKey{key: key})
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM public key found")
	}
	return keys, nil
}

// checkPublicKey accepts the key types JWT algorithms use, of a safe size.
func checkPublicKey(key any) error {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return fmt.Errorf("RSA key of %d bits is too short (minimum %d)", k.N.BitLen(), minRSABits)
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return fmt.Errorf("EC curve %s is not a JWT curve", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	default:
		return fmt.Errorf("public key type %T is not usable for JWT", key)
	}
	return nil
}
