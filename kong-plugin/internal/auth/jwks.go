package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// jsonWebKey holds the JWK members (RFC 7517, 7518, 8037) the gateway reads.
type jsonWebKey struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	D   string `json:"d"`
}

// parseJWKS reads the public keys of a JWK Set. Keys meant for encryption
// (use "enc") are skipped; private or symmetric keys are refused, since a
// JWKS is public material and a secret in it is a mistake.
func parseJWKS(data []byte) ([]verificationKey, error) {
	var set struct {
		Keys []jsonWebKey `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	var keys []verificationKey
	for i, jwk := range set.Keys {
		if jwk.Use == "enc" {
			continue
		}
		key, err := jwk.publicKey()
		if err != nil {
			return nil, fmt.Errorf("JWKS key %d (kid %q): %w", i, jwk.Kid, err)
		}
		if err := checkPublicKey(key); err != nil {
			return nil, fmt.Errorf("JWKS key %d (kid %q): %w", i, jwk.Kid, err)
		}
		keys = append(keys, verificationKey{kid: jwk.Kid, alg: jwk.Alg, key: key})
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS holds no signature verification key")
	}
	return keys, nil
}

func (jwk jsonWebKey) publicKey() (any, error) {
	if jwk.D != "" {
		return nil, errors.New("holds a private key; publish only public keys")
	}
	switch jwk.Kty {
	case "RSA":
		n, err := decodeBigInt(jwk.N)
		if err != nil {
			return nil, fmt.Errorf("n: %w", err)
		}
		e, err := decodeBigInt(jwk.E)
		if err != nil {
			return nil, fmt.Errorf("e: %w", err)
		}
		if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
			return nil, errors.New("e: out of range")
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
	case "EC":
		var curve elliptic.Curve
		switch jwk.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("unsupported curve %q", jwk.Crv)
		}
		x, err := decodeBigInt(jwk.X)
		if err != nil {
			return nil, fmt.Errorf("x: %w", err)
		}
		y, err := decodeBigInt(jwk.Y)
		if err != nil {
			return nil, fmt.Errorf("y: %w", err)
		}
		// Build the uncompressed point and let crypto/ecdh-backed parsing
		// check it is on the curve (an invalid point is an attack vector).
		size := (curve.Params().BitSize + 7) / 8
		if len(x.Bytes()) > size || len(y.Bytes()) > size {
			return nil, errors.New("coordinates too long for the curve")
		}
		point := make([]byte, 1+2*size)
		point[0] = 4
		x.FillBytes(point[1 : 1+size])
		y.FillBytes(point[1+size:])
		key, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil, fmt.Errorf("point: %w", err)
		}
		return key, nil
	case "OKP":
		if jwk.Crv != "Ed25519" {
			return nil, fmt.Errorf("unsupported OKP curve %q", jwk.Crv)
		}
		x, err := base64.RawURLEncoding.DecodeString(jwk.X)
		if err != nil {
			return nil, fmt.Errorf("x: %w", err)
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("x: want %d bytes, got %d", ed25519.PublicKeySize, len(x))
		}
		return ed25519.PublicKey(x), nil
	case "oct":
		return nil, errors.New("symmetric (oct) keys do not belong in a JWKS file; use the issuer's secret reference")
	default:
		return nil, fmt.Errorf("unsupported key type %q", jwk.Kty)
	}
}

func decodeBigInt(s string) (*big.Int, error) {
	if s == "" {
		return nil, errors.New("missing")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(b), nil
}
