package registry

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
)

// Signatures follow cosign 2.x's key-based format (sigstore/cosign v2,
// pkg/oci/static and pkg/cosign/verify.go; the payload is sigstore's
// pkg/signature/payload "simple signing" JSON): the signed payload names the
// manifest digest, the ECDSA signature (ASN.1, over the payload's SHA-256)
// is base64 in a layer annotation, and the signature manifest is tagged
// sha256-<hex>.sig in the signed version's repository. distribution 2.8 has
// no referrers API, so the tag is how every node finds it.
const (
	// SimpleSigningMediaType is the media type of a signature layer (the payload).
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// AnnotationSignature holds the base64 signature of a signature layer.
	AnnotationSignature = "dev.cosignproject.cosign/signature"
	simpleSigningType   = "cosign container image signature"
	// maxPayloadBytes bounds a signature payload read from a registry: a
	// simple-signing payload is a few hundred bytes.
	maxPayloadBytes = 64 << 10
	// maxSignatures bounds the signature layers one version's .sig manifest
	// may have (each is fetched and checked).
	maxSignatures = 32
)

// ErrSignature is the error of every failed verification: no signature, none
// by the key, or one for another digest.
var ErrSignature = errors.New("no valid signature")

// simpleSigning is the payload cosign signs.
type simpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// signatureTag is where cosign keeps the signatures of a manifest.
func signatureTag(d digest.Digest) string {
	return d.Algorithm().String() + "-" + d.Encoded() + ".sig"
}

// ParsePrivateKey reads an ECDSA P-256 private key in PEM: SEC 1 "EC PRIVATE
// KEY" (as openssl ecparam -genkey writes it), PKCS #8 "PRIVATE KEY", or
// cosign's encrypted key file (cosign.key), which password opens (it is
// called only for that one; nil refuses it).
func ParsePrivateKey(pemBytes []byte, password func() ([]byte, error)) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case cosignKeyType, cosignKeyTypeOld:
		if password == nil {
			return nil, errors.New("an encrypted cosign key, and no password to open it")
		}
		pw, err := password()
		if err != nil {
			return nil, err
		}
		return decryptCosignKey(block.Bytes, pw)
	default:
		return nil, fmt.Errorf("PEM block %q: want an EC PRIVATE KEY, a PRIVATE KEY or cosign's %s", block.Type, cosignKeyType)
	}
	if err != nil {
		return nil, err
	}
	k, ok := key.(*ecdsa.PrivateKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 key")
	}
	return k, nil
}

// ParsePublicKey reads an ECDSA P-256 public key in PEM ("PUBLIC KEY", as
// cosign.pub and openssl ec -pubout write it).
func ParsePublicKey(pemBytes []byte) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("no PEM PUBLIC KEY block")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	k, ok := key.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 key")
	}
	return k, nil
}

// Signed is what Sign stored.
type Signed struct {
	Digest    digest.Digest // the signed manifest
	Signature string        // REGISTRY/REPOSITORY:sha256-<hex>.sig
}

// Sign signs the manifest ref names (a tag is resolved to its digest first)
// and adds the signature to its .sig manifest, keeping the signatures already
// there, as cosign does.
func (c *Client) Sign(ctx context.Context, ref string, key *ecdsa.PrivateKey) (Signed, error) {
	r, err := registry.ParseReference(ref)
	if err != nil {
		return Signed{}, err
	}
	if r.Reference == "" {
		return Signed{}, fmt.Errorf("%s: name the version (:VERSION or @DIGEST)", ref)
	}
	name := r.Registry + "/" + r.Repository
	repo, err := c.repository(name)
	if err != nil {
		return Signed{}, err
	}
	target, err := repo.Resolve(ctx, r.Reference)
	if err != nil {
		return Signed{}, fmt.Errorf("%s: %w", ref, err)
	}
	var p simpleSigning
	p.Critical.Identity.DockerReference = name
	p.Critical.Image.DockerManifestDigest = target.Digest.String()
	p.Critical.Type = simpleSigningType
	payload, err := json.Marshal(p)
	if err != nil {
		return Signed{}, err
	}
	hash := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, key, hash[:])
	if err != nil {
		return Signed{}, err
	}
	layer := ocispec.Descriptor{
		MediaType:   SimpleSigningMediaType,
		Digest:      digest.FromBytes(payload),
		Size:        int64(len(payload)),
		Annotations: map[string]string{AnnotationSignature: base64.StdEncoding.EncodeToString(sig)},
	}
	if err := pushBytes(ctx, repo, layer, payload); err != nil {
		return Signed{}, fmt.Errorf("push signature payload: %w", err)
	}
	tag := signatureTag(target.Digest)
	layers, err := signatureLayers(ctx, repo, tag)
	if err != nil && !errors.Is(err, errdef.ErrNotFound) {
		return Signed{}, fmt.Errorf("existing signatures: %w", err)
	}
	layers = append(layers, layer)
	if err := pushSignatureManifest(ctx, repo, layers, tag); err != nil {
		return Signed{}, err
	}
	return Signed{Digest: target.Digest, Signature: name + ":" + tag}, nil
}

// pushSignatureManifest writes the .sig manifest the way cosign's does: an
// OCI image manifest whose config is an image config listing the payloads.
func pushSignatureManifest(ctx context.Context, repo *remote.Repository, layers []ocispec.Descriptor, tag string) error {
	config := ocispec.Image{RootFS: ocispec.RootFS{Type: "layers"}}
	for _, l := range layers {
		config.RootFS.DiffIDs = append(config.RootFS.DiffIDs, l.Digest)
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return err
	}
	configDesc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageConfig, configJSON)
	if err := pushBytes(ctx, repo, configDesc, configJSON); err != nil {
		return fmt.Errorf("push signature config: %w", err)
	}
	manifest, err := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    configDesc,
		Layers:    layers,
	})
	if err != nil {
		return err
	}
	desc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, manifest)
	if err := repo.PushReference(ctx, desc, bytes.NewReader(manifest), tag); err != nil {
		return fmt.Errorf("push signature manifest %s: %w", tag, err)
	}
	return nil
}

func pushBytes(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor, b []byte) error {
	if ok, err := repo.Exists(ctx, desc); err != nil || ok {
		return err
	}
	return repo.Push(ctx, desc, bytes.NewReader(b))
}

// signatureLayers reads the signature layers of a .sig manifest (errdef.ErrNotFound
// when there is none).
func signatureLayers(ctx context.Context, repo *remote.Repository, tag string) ([]ocispec.Descriptor, error) {
	desc, rc, err := repo.FetchReference(ctx, tag)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := content.ReadAll(rc, desc)
	if err != nil {
		return nil, err
	}
	layers, err := parseSignatureManifest(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tag, err)
	}
	return layers, nil
}

// parseSignatureManifest returns the signature layers of a .sig manifest.
func parseSignatureManifest(b []byte) ([]ocispec.Descriptor, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	var layers []ocispec.Descriptor
	for _, l := range m.Layers {
		if l.MediaType == SimpleSigningMediaType {
			layers = append(layers, l)
		}
	}
	if len(layers) > maxSignatures {
		return nil, fmt.Errorf("%d signatures, more than %d", len(layers), maxSignatures)
	}
	return layers, nil
}

// Verify accepts the manifest digest d of repository name (REGISTRY/REPOSITORY)
// only if its .sig manifest holds a signature by key over a simple-signing
// payload that names d. Every failure wraps ErrSignature.
func (c *Client) Verify(ctx context.Context, name string, d digest.Digest, key *ecdsa.PublicKey) error {
	repo, err := c.repository(name)
	if err != nil {
		return err
	}
	layers, err := signatureLayers(ctx, repo, signatureTag(d))
	if errors.Is(err, errdef.ErrNotFound) {
		return fmt.Errorf("%w: %s@%s is not signed", ErrSignature, name, d)
	}
	if err != nil {
		return fmt.Errorf("%s@%s: signatures: %w", name, d, err)
	}
	var reasons []string
	for _, l := range layers {
		err := verifyLayer(ctx, repo, l, d, key)
		if err == nil {
			return nil
		}
		reasons = append(reasons, err.Error())
	}
	return fmt.Errorf("%w for %s@%s by the key (%d signatures: %s)", ErrSignature, path.Base(name), d, len(layers), strings.Join(reasons, "; "))
}

func verifyLayer(ctx context.Context, repo *remote.Repository, l ocispec.Descriptor, d digest.Digest, key *ecdsa.PublicKey) error {
	if l.Size < 0 || l.Size > maxPayloadBytes {
		return fmt.Errorf("payload of %d bytes", l.Size)
	}
	if err := l.Digest.Validate(); err != nil {
		return err
	}
	rc, err := repo.Fetch(ctx, l)
	if err != nil {
		return err
	}
	defer rc.Close()
	payload, err := content.ReadAll(rc, l)
	if err != nil {
		return err
	}
	return verifySignature(l, payload, d, key)
}

// verifySignature checks one signature layer whose payload (already checked
// against the layer's digest) has been read: a signature by key over a
// simple-signing payload that names manifest digest d.
func verifySignature(l ocispec.Descriptor, payload []byte, d digest.Digest, key *ecdsa.PublicKey) error {
	sig, err := base64.StdEncoding.DecodeString(l.Annotations[AnnotationSignature])
	if err != nil || len(sig) == 0 {
		return errors.New("no base64 signature")
	}
	hash := sha256.Sum256(payload)
	if !ecdsa.VerifyASN1(key, hash[:], sig) {
		return errors.New("signature not by the key")
	}
	var p simpleSigning
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	if p.Critical.Type != simpleSigningType || p.Critical.Image.DockerManifestDigest != d.String() {
		return fmt.Errorf("signed payload is for %q, not this version", p.Critical.Image.DockerManifestDigest)
	}
	return nil
}

// Resolve names the repository (REGISTRY/REPOSITORY) and the manifest digest
// of ref (a tag is looked up; a digest is taken as it is).
func (c *Client) Resolve(ctx context.Context, ref string) (string, digest.Digest, error) {
	r, err := registry.ParseReference(ref)
	if err != nil {
		return "", "", err
	}
	if r.Reference == "" {
		return "", "", fmt.Errorf("%s: name the version (:VERSION or @DIGEST)", ref)
	}
	name := r.Registry + "/" + r.Repository
	if d, err := r.Digest(); err == nil {
		return name, d, nil
	}
	repo, err := c.repository(name)
	if err != nil {
		return "", "", err
	}
	desc, err := repo.Resolve(ctx, r.Reference)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", ref, err)
	}
	return name, desc.Digest, nil
}
