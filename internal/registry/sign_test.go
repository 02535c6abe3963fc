package registry

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

// newKey makes a fresh P-256 key pair and returns it as the PEM files hold
// it, parsed back, so the PEM readers are what the test uses.
func newKey(t *testing.T) (*ecdsa.PrivateKey, *ecdsa.PublicKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err = x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// TestSignVerify signs version 2 of the example model in a real registry and
// checks what verification accepts: the signer's key over this digest, also
// after a second signer added theirs; never another key, an unsigned
// version, or a signature moved to another version's .sig tag.
func TestSignVerify(t *testing.T) {
	reg := testutil.StartRegistry(t, nil)
	dockerConfig(t, nil)
	ctx := context.Background()
	c := newClient(t)
	name := reg.Host + "/models/sentiment"
	var pushed []Pushed
	for _, v := range []string{"1", "2"} {
		p, err := c.Push(ctx, filepath.Join(sentiment(), v), name)
		if err != nil {
			t.Fatal(err)
		}
		pushed = append(pushed, p)
	}
	v1, v2 := pushed[0].Digest, pushed[1].Digest
	signer, signerPub := newKey(t)
	other, otherPub := newKey(t)

	s, err := c.Sign(ctx, name+":2", signer)
	if err != nil {
		t.Fatal(err)
	}
	if s.Digest != v2 || s.Signature != name+":sha256-"+v2.Encoded()+".sig" {
		t.Errorf("signed %+v, want %s under its .sig tag", s, v2)
	}
	if err := c.Verify(ctx, name, v2, signerPub); err != nil {
		t.Errorf("the signer's key: %v", err)
	}
	if err := c.Verify(ctx, name, v2, otherPub); !errors.Is(err, ErrSignature) {
		t.Errorf("another key: %v, want %v", err, ErrSignature)
	}
	if err := c.Verify(ctx, name, v1, signerPub); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "not signed") {
		t.Errorf("unsigned version 1: %v, want %v (not signed)", err, ErrSignature)
	}

	// A second signature joins the first, as cosign keeps them.
	if _, err := c.Sign(ctx, name+"@"+v2.String(), other); err != nil {
		t.Fatal(err)
	}
	for _, pub := range []*ecdsa.PublicKey{signerPub, otherPub} {
		if err := c.Verify(ctx, name, v2, pub); err != nil {
			t.Errorf("after a second signature: %v", err)
		}
	}

	// Version 2's signatures copied to version 1's .sig tag sign version 2, not 1.
	repo, err := c.repository(name)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := signatureLayers(ctx, repo, signatureTag(v2))
	if err != nil {
		t.Fatal(err)
	}
	if err := pushSignatureManifest(ctx, repo, layers, signatureTag(v1)); err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(ctx, name, v1, signerPub); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "not this version") {
		t.Errorf("version 2's signature under version 1's tag: %v, want %v (not this version)", err, ErrSignature)
	}
}

func TestParseKeysRefuseOtherKeys(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil); err == nil {
		t.Error("a P-384 private key was accepted")
	}
	der, err = x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})); err == nil {
		t.Error("a P-384 public key was accepted")
	}
	if _, err := ParsePrivateKey([]byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAA==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"), nil); err == nil {
		t.Error("an encrypted key was accepted without a password")
	}
}
