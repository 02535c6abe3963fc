package registry

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/modelgate/modelgate/internal/testutil"
)

// The fixtures of testdata/cosign (its README says how they were made).
const (
	cosignFixtures        = "testdata/cosign"
	cosignFixturePassword = "modelgate-fixture"
)

func readFixture(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cosignFixtures, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixtureKeys(t *testing.T) (*ecdsa.PrivateKey, *ecdsa.PublicKey) {
	t.Helper()
	priv, err := ParsePrivateKey(readFixture(t, "cosign.key"), func() ([]byte, error) { return []byte(cosignFixturePassword), nil })
	if err != nil {
		t.Fatalf("cosign.key: %v", err)
	}
	pub, err := ParsePublicKey(readFixture(t, "cosign.pub"))
	if err != nil {
		t.Fatalf("cosign.pub: %v", err)
	}
	return priv, pub
}

// signedFixture is one folder of signed fixtures: the signed digest, the
// signature layers and the payload.
type signedFixture struct {
	digest   digest.Digest
	manifest ocispec.Manifest
	layers   []ocispec.Descriptor
	payload  []byte
}

func readSigned(t *testing.T, dir string) signedFixture {
	t.Helper()
	f := signedFixture{digest: digest.FromBytes(readFixture(t, dir+"/artifact-manifest.json")), payload: readFixture(t, dir+"/payload.json")}
	sig := readFixture(t, dir+"/signature-manifest.json")
	var err error
	if f.layers, err = parseSignatureManifest(sig); err != nil || len(f.layers) != 1 {
		t.Fatalf("%s: %d signature layers, %v", dir, len(f.layers), err)
	}
	if err := json.Unmarshal(sig, &f.manifest); err != nil {
		t.Fatal(err)
	}
	if d := digest.FromBytes(f.payload); d != f.layers[0].Digest {
		t.Fatalf("%s: payload.json is %s, the layer says %s", dir, d, f.layers[0].Digest)
	}
	if d := digest.FromBytes(readFixture(t, dir+"/signature-config.json")); d != f.manifest.Config.Digest {
		t.Fatalf("%s: signature-config.json is %s, the manifest says %s", dir, d, f.manifest.Config.Digest)
	}
	return f
}

// TestCosignKeyFile: cosign's encrypted key file opens with its password
// into the key of cosign.pub, and not with another or none.
func TestCosignKeyFile(t *testing.T) {
	priv, pub := fixtureKeys(t)
	if !priv.PublicKey.Equal(pub) {
		t.Error("cosign.key does not hold the key of cosign.pub")
	}
	for _, pw := range []string{"", "modelgate"} {
		if _, err := ParsePrivateKey(readFixture(t, "cosign.key"), func() ([]byte, error) { return []byte(pw), nil }); err == nil || !strings.Contains(err.Error(), "wrong password") {
			t.Errorf("password %q: %v", pw, err)
		}
	}
	if _, err := ParsePrivateKey(readFixture(t, "cosign.key"), nil); err == nil {
		t.Error("cosign.key opened without a password")
	}
}

// TestVerifyCosignSignature: a signature `cosign sign --key` made verifies
// with our code for the digest it signed, and for no other digest or key.
func TestVerifyCosignSignature(t *testing.T) {
	_, pub := fixtureKeys(t)
	cosign := readSigned(t, "cosign-signed")
	if err := verifySignature(cosign.layers[0], cosign.payload, cosign.digest, pub); err != nil {
		t.Errorf("cosign's signature: %v", err)
	}
	other := readSigned(t, "modelgate-signed").digest
	if err := verifySignature(cosign.layers[0], cosign.payload, other, pub); err == nil {
		t.Error("cosign's signature verified for another digest")
	}
	_, strangerPub := newKey(t)
	if err := verifySignature(cosign.layers[0], cosign.payload, cosign.digest, strangerPub); err == nil {
		t.Error("cosign's signature verified with another key")
	}
}

// shape is a JSON document's structure: its keys and, at the leaves, the
// JSON type, so two documents compare without their values.
func shape(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, e := range v {
				out[k] = walk(e)
			}
			return out
		case []any:
			out := []any{}
			for _, e := range v {
				out = append(out, walk(e))
			}
			return out
		case nil:
			return "null"
		default:
			return jsonType(v)
		}
	}
	return walk(v)
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "?"
}

// layout is what verifiers read of a signature: media types, the
// annotation names and the payload's structure and type.
func layout(t *testing.T, f signedFixture) string {
	t.Helper()
	var names []string
	for k := range f.layers[0].Annotations {
		names = append(names, k)
	}
	slices.Sort(names)
	var p simpleSigning
	if err := json.Unmarshal(f.payload, &p); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{
		"manifest": f.manifest.MediaType, "config": f.manifest.Config.MediaType, "layer": f.layers[0].MediaType,
		"annotations": names, "payload": shape(t, f.payload), "type": p.Critical.Type,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSignatureLayoutIsCosigns: the signature `modelgate model sign` made
// (which `cosign verify` accepted: testdata/cosign/README.md) has cosign's
// layout, verifies with our code, and Sign still writes that layout today.
func TestSignatureLayoutIsCosigns(t *testing.T) {
	priv, pub := fixtureKeys(t)
	cosign, ours := readSigned(t, "cosign-signed"), readSigned(t, "modelgate-signed")
	if a, b := layout(t, cosign), layout(t, ours); a != b {
		t.Errorf("our signature's layout differs from cosign's:\ncosign: %s\nours:   %s", a, b)
	}
	if err := verifySignature(ours.layers[0], ours.payload, ours.digest, pub); err != nil {
		t.Errorf("the fixture of our signature: %v", err)
	}

	// Signed now, in a real registry: the same layout as the fixture.
	reg := testutil.StartRegistry(t, nil)
	dockerConfig(t, nil)
	ctx := context.Background()
	c := newClient(t)
	name := reg.Host + "/models/sentiment"
	if _, err := c.Push(ctx, filepath.Join(sentiment(), "1"), name); err != nil {
		t.Fatal(err)
	}
	s, err := c.Sign(ctx, name+":1", priv)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := c.repository(name)
	if err != nil {
		t.Fatal(err)
	}
	desc, rc, err := repo.FetchReference(ctx, signatureTag(s.Digest))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := content.ReadAll(rc, desc)
	if err != nil {
		t.Fatal(err)
	}
	now := signedFixture{digest: s.Digest}
	if now.layers, err = parseSignatureManifest(b); err != nil || len(now.layers) != 1 {
		t.Fatalf("signed now: %d layers, %v", len(now.layers), err)
	}
	if err := json.Unmarshal(b, &now.manifest); err != nil {
		t.Fatal(err)
	}
	pc, err := repo.Fetch(ctx, now.layers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if now.payload, err = content.ReadAll(pc, now.layers[0]); err != nil {
		t.Fatal(err)
	}
	if a, b := layout(t, ours), layout(t, now); a != b {
		t.Errorf("Sign's layout changed from the fixture cosign accepted:\nfixture: %s\nnow:     %s", a, b)
	}
}
