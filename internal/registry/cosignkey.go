package registry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"
)

// cosign's encrypted private key files (`cosign generate-key-pair` writes
// cosign.key), as sigstore/cosign v2.6.5 pkg/cosign/keys.go (LoadPrivateKey)
// and secure-systems-lab/go-securesystemslib v0.9.1 encrypted/encrypted.go
// define them: a PEM block of one of these types around JSON naming an
// scrypt key derivation (its parameters and salt) and a NaCl secretbox (its
// nonce) over the PKCS #8 DER private key.
const (
	cosignKeyType    = "ENCRYPTED SIGSTORE PRIVATE KEY"
	cosignKeyTypeOld = "ENCRYPTED COSIGN PRIVATE KEY"
)

// cosignEncrypted is the JSON inside the PEM block; []byte fields are base64.
type cosignEncrypted struct {
	KDF struct {
		Name   string `json:"name"`
		Params struct {
			N int `json:"N"`
			R int `json:"r"`
			P int `json:"p"`
		} `json:"params"`
		Salt []byte `json:"salt"`
	} `json:"kdf"`
	Cipher struct {
		Name  string `json:"name"`
		Nonce []byte `json:"nonce"`
	} `json:"cipher"`
	Ciphertext []byte `json:"ciphertext"`
}

// cosignScryptN are the scrypt costs cosign writes (with r 8, p 1). Any other
// is refused, as go-securesystemslib does: the file must not choose how much
// memory and time the derivation takes.
var cosignScryptN = []int{1 << 15, 1 << 16, 1 << 17}

// decryptCosignKey opens the JSON of a cosign key file with its password.
func decryptCosignKey(block, password []byte) (*ecdsa.PrivateKey, error) {
	var e cosignEncrypted
	if err := json.Unmarshal(block, &e); err != nil {
		return nil, fmt.Errorf("cosign key: %w", err)
	}
	p := e.KDF.Params
	switch {
	case e.KDF.Name != "scrypt" || e.Cipher.Name != "nacl/secretbox":
		return nil, fmt.Errorf("cosign key: kdf %q, cipher %q: want scrypt and nacl/secretbox", e.KDF.Name, e.Cipher.Name)
	case p.R != 8 || p.P != 1 || !slices.Contains(cosignScryptN, p.N):
		return nil, fmt.Errorf("cosign key: scrypt parameters N=%d r=%d p=%d are not cosign's", p.N, p.R, p.P)
	case len(e.Cipher.Nonce) != 24:
		return nil, errors.New("cosign key: the nonce is not 24 bytes")
	}
	derived, err := scrypt.Key(password, e.KDF.Salt, p.N, p.R, p.P, 32)
	if err != nil {
		return nil, err
	}
	var key [32]byte
	var nonce [24]byte
	copy(key[:], derived)
	copy(nonce[:], e.Cipher.Nonce)
	der, ok := secretbox.Open(nil, e.Ciphertext, &nonce, &key)
	if !ok {
		return nil, errors.New("cosign key: wrong password (or a damaged file)")
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("cosign key: %w", err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("cosign key: not an ECDSA P-256 key")
	}
	return ec, nil
}
