package auth

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
)

// kubeletDir lays out files as kubelet mounts a Secret volume: the data in
// a timestamped folder, a ..data symlink to it, and each file a symlink
// through ..data. update swaps ..data atomically to a new folder and removes
// the old one, as kubelet's atomic writer does on a Secret update.
type kubeletDir struct {
	t   testing.TB
	dir string
	gen int
}

func newKubeletDir(t testing.TB, files map[string][]byte) *kubeletDir {
	k := &kubeletDir{t: t, dir: t.TempDir()}
	k.update(files)
	for name := range files {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(k.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

func (k *kubeletDir) update(files map[string][]byte) {
	k.t.Helper()
	k.gen++
	data := fmt.Sprintf("..2026_11_30_04_00_%02d.%d", k.gen, k.gen)
	if err := os.Mkdir(filepath.Join(k.dir, data), 0o755); err != nil {
		k.t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(k.dir, data, name), b, 0o444); err != nil {
			k.t.Fatal(err)
		}
	}
	old, _ := os.Readlink(filepath.Join(k.dir, "..data"))
	tmp := filepath.Join(k.dir, "..data_tmp")
	if err := os.Symlink(data, tmp); err != nil {
		k.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(k.dir, "..data")); err != nil {
		k.t.Fatal(err)
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(k.dir, old)); err != nil {
			k.t.Fatal(err)
		}
	}
}

// TestIssuerKeyRotation mounts an issuer's public keys as kubelet does, then
// removes the old key with a Secret update: a token signed with the removed
// key is refused, one signed with the key that stays is accepted, without
// a new Authenticator.
func TestIssuerKeyRotation(t *testing.T) {
	k := keys(t)
	mount := newKubeletDir(t, map[string][]byte{"jwt.pub": pemOf(t, &k.rsa.PublicKey, &k.rsaOther.PublicKey)})
	const iss = "https://idp.example"
	a, err := New(Config{JWT: []Issuer{{
		Issuer: iss, Algorithms: []string{"RS256"}, DefaultTier: "trial",
		PublicKey: "file:" + filepath.Join(mount.dir, "jwt.pub"),
	}}}, WithSecretWatch(secret.WatchOptions{CheckInterval: -1, Logger: testutil.Logger(t)}))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	compromised := sign(t, jwt.SigningMethodRS256, k.rsa, claimsFor(iss, "alice", "", now), nil)
	kept := sign(t, jwt.SigningMethodRS256, k.rsaOther, claimsFor(iss, "bob", "", now), nil)
	for _, token := range []string{compromised, kept} {
		if _, err := a.Authenticate(bearer(token)); err != nil {
			t.Fatalf("before the rotation: %v", err)
		}
	}

	mount.update(map[string][]byte{"jwt.pub": pemOf(t, &k.rsaOther.PublicKey)})
	if id, err := a.Authenticate(bearer(compromised)); err == nil {
		t.Errorf("a token signed by the removed key was accepted as %+v", id)
	}
	if _, err := a.Authenticate(bearer(kept)); err != nil {
		t.Errorf("a token signed by the remaining key: %v", err)
	}

	// A rotated file that would leave RS256 without a key is refused, and
	// the keys in use stay.
	mount.update(map[string][]byte{"jwt.pub": pemOf(t, &k.p256.PublicKey)})
	if _, err := a.Authenticate(bearer(kept)); err != nil {
		t.Errorf("after a refused rotation: %v", err)
	}
	if _, err := a.Authenticate(bearer(compromised)); err == nil {
		t.Error("after a refused rotation, the removed key is back")
	}
}

// TestAPIKeyFileRotation takes a consumer's key digests from a file mounted
// as kubelet mounts a Secret, then removes one key with a Secret update:
// that key is refused from then on, the other still works.
func TestAPIKeyFileRotation(t *testing.T) {
	old, kept := "mg_test_old_key_0123456789abcdef", "mg_test_kept_key_0123456789abcde"
	file := "# alice's keys\n" + digest(old) + "  old\n\n" + digest(kept) + "\n"
	mount := newKubeletDir(t, map[string][]byte{"alice.sha256": []byte(file)})
	a, err := New(Config{Consumers: []Consumer{{Name: "alice", Tier: "free",
		KeySHA256: []string{"file:" + filepath.Join(mount.dir, "alice.sha256")}}}},
		WithSecretWatch(secret.WatchOptions{CheckInterval: -1, Logger: testutil.Logger(t)}))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{old, kept} {
		if id, err := a.Authenticate(map[string][]string{"Apikey": {key}}); err != nil || id.Consumer != "alice" {
			t.Fatalf("before the rotation: %+v %v", id, err)
		}
	}
	mount.update(map[string][]byte{"alice.sha256": []byte(digest(kept) + "\n")})
	if id, err := a.Authenticate(map[string][]string{"Apikey": {old}}); err == nil {
		t.Errorf("a removed key was accepted as %+v", id)
	}
	if _, err := a.Authenticate(map[string][]string{"Apikey": {kept}}); err != nil {
		t.Errorf("the remaining key: %v", err)
	}
	// Every key revoked: a file of comments only holds none, and the last
	// key stops working too (not kept as "the value read before").
	mount.update(map[string][]byte{"alice.sha256": []byte("# revoked\n")})
	if id, err := a.Authenticate(map[string][]string{"Apikey": {kept}}); err == nil {
		t.Errorf("a key revoked by emptying the file was accepted as %+v", id)
	}
	// At start the same file is refused: nobody could use that consumer.
	revoked := writeFile(t, "revoked.sha256", []byte("# revoked\n"))
	if _, err := New(Config{Consumers: []Consumer{{Name: "carol", Tier: "free", KeySHA256: []string{revoked}}}}); err == nil ||
		!strings.Contains(err.Error(), "no SHA-256 digest") {
		t.Errorf("a digest file without digests at start: %v", err)
	}

	// A file holding a key instead of its digest is refused, naming the line only.
	bad := writeFile(t, "bad.sha256", []byte(digest(kept)+"\n"+kept+"\n"))
	_, err = New(Config{Consumers: []Consumer{{Name: "bob", Tier: "free", KeySHA256: []string{bad}}}})
	if err == nil || !strings.Contains(err.Error(), "line 2") || strings.Contains(err.Error(), kept) {
		t.Errorf("a key in a digest file: %v", err)
	}
}

// FuzzDigestFile: a digest file yields only digests its lines hold (none for
// a file of comments: a revocation), and an error is one of the fixed messages (which never carry the file's content;
// TestAPIKeyFileRotation checks a key in the file is not echoed).
func FuzzDigestFile(f *testing.F) {
	f.Add([]byte(digest("k") + "  app\n# comment\n\n"))
	f.Add([]byte("mg_not_a_digest\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseDigestFile(data)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "line ") && !errors.Is(err, bufio.ErrTooLong) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		for d := range got {
			if !strings.Contains(strings.ToLower(string(data)), fmt.Sprintf("%x", d)) {
				t.Fatalf("digest %x is not in the file", d)
			}
		}
	})
}
