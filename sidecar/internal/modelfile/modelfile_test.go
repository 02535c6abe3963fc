package modelfile

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/pathbound"
	"github.com/modelgate/modelgate/sidecar/internal/config"
)

func writeWithSum(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	line := hex.EncodeToString(sum[:]) + "  " + filepath.Base(path) + "\n"
	if err := os.WriteFile(path+SumSuffix, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
}

var sentiment1 = Identity{Model: "sentiment", Version: "1"}

func TestReadPlain(t *testing.T) {
	dir := t.TempDir()
	writeWithSum(t, filepath.Join(dir, Plain), []byte("onnx bytes"))
	got, err := Read(dir, sentiment1, ReadOptions{})
	if err != nil || string(got.Bytes) != "onnx bytes" || len(got.Digest) != 64 || got.Unbound {
		t.Fatalf("Read = %+v %v", got, err)
	}
	if d, err := Digest(dir); err != nil || d != got.Digest {
		t.Errorf("Digest = %q %v, want %q", d, err, got.Digest)
	}
	if err := os.WriteFile(filepath.Join(dir, Plain), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir, sentiment1, ReadOptions{}); !errors.Is(err, ErrChecksum) {
		t.Errorf("tampered model: %v", err)
	}
	os.Remove(filepath.Join(dir, Plain+SumSuffix))
	if _, err := Read(dir, sentiment1, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "no checksum file") {
		t.Errorf("missing checksum: %v", err)
	}
}

func TestReadEncrypted(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	dir := t.TempDir()
	enc, err := Encrypt(key, []byte("secret onnx"), sentiment1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(enc, BoundMagic) {
		t.Fatalf("Encrypt wrote no format marker: % x", enc[:8])
	}
	writeWithSum(t, filepath.Join(dir, Encrypted), enc)
	t.Setenv("TEST_MODEL_KEY", hex.EncodeToString(key))
	fromEnv := ReadOptions{Key: KeyFromConfig(&config.Encryption{KeyEnv: "TEST_MODEL_KEY"}, dir, nil), RequireBound: true}
	got, err := Read(dir, sentiment1, fromEnv)
	if err != nil || string(got.Bytes) != "secret onnx" || got.Unbound {
		t.Fatalf("Read = %+v %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.b64"), []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile := ReadOptions{Key: KeyFromConfig(&config.Encryption{KeyFile: "key.b64"}, dir, nil)}
	if got, err := Read(dir, sentiment1, fromFile); err != nil || string(got.Bytes) != "secret onnx" {
		t.Fatalf("base64 key file: %+v %v", got, err)
	}
	// --models may be relative (the root kong.yml's deploy/models): a
	// key_file in the model's folder is still allowed.
	t.Chdir(filepath.Dir(dir))
	relative := ReadOptions{Key: KeyFromConfig(&config.Encryption{KeyFile: "key.b64"}, filepath.Base(dir), nil)}
	if got, err := Read(dir, sentiment1, relative); err != nil || string(got.Bytes) != "secret onnx" {
		t.Fatalf("key file in a model folder named relatively: %+v %v", got, err)
	}
	// A key_file may lie in the model's folder or a --key-dirs folder,
	// never elsewhere: not by "..", not through a symlink.
	keys := t.TempDir()
	if err := os.WriteFile(filepath.Join(keys, "key.b64"), []byte(base64.StdEncoding.EncodeToString(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(keys, "key.b64"), filepath.Join(dir, "link.b64")); err != nil {
		t.Fatal(err)
	}
	escape := filepath.Join("..", filepath.Base(keys), "key.b64")
	for _, keyFile := range []string{filepath.Join(keys, "key.b64"), escape, "link.b64"} {
		opts := ReadOptions{Key: KeyFromConfig(&config.Encryption{KeyFile: keyFile}, dir, nil)}
		if _, err := Read(dir, sentiment1, opts); err == nil || !strings.Contains(err.Error(), "outside the allowed folders") {
			t.Errorf("key_file %s outside the model's folder: %v", keyFile, err)
		}
		opts = ReadOptions{Key: KeyFromConfig(&config.Encryption{KeyFile: keyFile}, dir, pathbound.Folders{keys})}
		if got, err := Read(dir, sentiment1, opts); err != nil || string(got.Bytes) != "secret onnx" {
			t.Errorf("key_file %s in --key-dirs: %+v %v", keyFile, got, err)
		}
	}
	t.Setenv("TEST_MODEL_KEY", hex.EncodeToString(bytes.Repeat([]byte{8}, 32)))
	if _, err := Read(dir, sentiment1, fromEnv); err == nil || !strings.Contains(err.Error(), "wrong key") {
		t.Errorf("wrong key: %v", err)
	}
	unset := ReadOptions{Key: KeyFromConfig(&config.Encryption{KeyEnv: "TEST_MODEL_KEY_UNSET"}, dir, nil)}
	if _, err := Read(dir, sentiment1, unset); err == nil || !strings.Contains(err.Error(), "not set") {
		t.Errorf("unset key: %v", err)
	}
	if _, err := Read(dir, sentiment1, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "no encryption section") {
		t.Errorf("no key: %v", err)
	}
	writeWithSum(t, filepath.Join(dir, Plain), []byte("x"))
	if _, err := Read(dir, sentiment1, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("both files: %v", err)
	}
}

// TestBoundToIdentity moves a format-2 file, checksum and all, to another
// version and to another model: with the right key, both are refused.
func TestBoundToIdentity(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	enc, err := Encrypt(key, []byte("version 1"), sentiment1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeWithSum(t, filepath.Join(dir, Encrypted), enc)
	opts := ReadOptions{Key: func() ([]byte, error) { return bytes.Clone(key), nil }}
	for _, id := range []Identity{
		{Model: "sentiment", Version: "2"},
		{Model: "sentiment2", Version: "1"},
		{Model: "sentiment1", Version: ""},
	} {
		if _, err := Read(dir, id, opts); err == nil || !strings.Contains(err.Error(), "another model or version") {
			t.Errorf("file of sentiment/1 read as %s/%s: %v", id.Model, id.Version, err)
		}
	}
	if got, err := Read(dir, sentiment1, opts); err != nil || string(got.Bytes) != "version 1" {
		t.Errorf("its own identity: %+v %v", got, err)
	}
}

// TestReadFormat1 reads a file in the first format (nonce || sealed model,
// no associated data), as the sidecar wrote it before format 2: it loads,
// marked Unbound, unless RequireBound refuses it.
func TestReadFormat1(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeWithSum(t, filepath.Join(dir, Encrypted), gcm.Seal(nonce, nonce, []byte("old onnx"), nil))
	opts := ReadOptions{Key: func() ([]byte, error) { return bytes.Clone(key), nil }}
	got, err := Read(dir, sentiment1, opts)
	if err != nil || string(got.Bytes) != "old onnx" || !got.Unbound {
		t.Fatalf("format 1: %+v %v", got, err)
	}
	opts.RequireBound = true
	if _, err := Read(dir, sentiment1, opts); !errors.Is(err, ErrUnbound) {
		t.Errorf("format 1 with RequireBound: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, 32)
	for _, tc := range []struct {
		name, raw string
		ok        bool
	}{
		{"hex", hex.EncodeToString(key) + "\n", true},
		{"upper-case hex", strings.ToUpper(hex.EncodeToString(key)), true},
		{"base64", base64.StdEncoding.EncodeToString(key), true},
		{"base64 with newline", " " + base64.StdEncoding.EncodeToString(key) + "\r\n", true},
		{"32 raw bytes", "0123456789abcdef0123456789abcdef", false},
		{"short", "short", false},
		{"63 hex digits", hex.EncodeToString(key)[1:], false},
		{"hex with a non-digit", "g" + hex.EncodeToString(key)[1:], false},
		{"base64 of 31 bytes", base64.StdEncoding.EncodeToString(key[1:]), false},
		{"base64 url alphabet", base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), false},
		{"empty", "", false},
	} {
		k, err := ParseKey([]byte(tc.raw))
		switch {
		case tc.ok && (err != nil || !bytes.Equal(k, key)):
			t.Errorf("%s: %x %v", tc.name, k, err)
		case !tc.ok && !errors.Is(err, ErrKeyEncoding):
			t.Errorf("%s: accepted (%x) or wrong error %v", tc.name, k, err)
		case !tc.ok && strings.Contains(err.Error(), tc.raw) && tc.raw != "":
			t.Errorf("%s: the error repeats the key: %v", tc.name, err)
		}
	}
}
