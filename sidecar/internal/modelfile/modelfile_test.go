package modelfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

func TestReadPlain(t *testing.T) {
	dir := t.TempDir()
	writeWithSum(t, filepath.Join(dir, Plain), []byte("onnx bytes"))
	got, digest, err := Read(dir, nil)
	if err != nil || string(got) != "onnx bytes" || len(digest) != 64 {
		t.Fatalf("Read = %q %q %v", got, digest, err)
	}
	if d, err := Digest(dir); err != nil || d != digest {
		t.Errorf("Digest = %q %v, want %q", d, err, digest)
	}
	if err := os.WriteFile(filepath.Join(dir, Plain), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Read(dir, nil); !errors.Is(err, ErrChecksum) {
		t.Errorf("tampered model: %v", err)
	}
	os.Remove(filepath.Join(dir, Plain+SumSuffix))
	if _, _, err := Read(dir, nil); err == nil || !strings.Contains(err.Error(), "no checksum file") {
		t.Errorf("missing checksum: %v", err)
	}
}

func TestReadEncrypted(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	dir := t.TempDir()
	enc, err := Encrypt(key, []byte("secret onnx"))
	if err != nil {
		t.Fatal(err)
	}
	writeWithSum(t, filepath.Join(dir, Encrypted), enc)
	t.Setenv("TEST_MODEL_KEY", hex.EncodeToString(key))
	got, _, err := Read(dir, KeyFromConfig(&config.Encryption{KeyEnv: "TEST_MODEL_KEY"}, dir))
	if err != nil || string(got) != "secret onnx" {
		t.Fatalf("Read = %q %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.bin"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _, err := Read(dir, KeyFromConfig(&config.Encryption{KeyFile: "key.bin"}, dir)); err != nil || string(got) != "secret onnx" {
		t.Fatalf("raw key file: %q %v", got, err)
	}
	t.Setenv("TEST_MODEL_KEY", hex.EncodeToString(bytes.Repeat([]byte{8}, 32)))
	if _, _, err := Read(dir, KeyFromConfig(&config.Encryption{KeyEnv: "TEST_MODEL_KEY"}, dir)); err == nil || !strings.Contains(err.Error(), "wrong key") {
		t.Errorf("wrong key: %v", err)
	}
	if _, _, err := Read(dir, KeyFromConfig(&config.Encryption{KeyEnv: "TEST_MODEL_KEY_UNSET"}, dir)); err == nil || !strings.Contains(err.Error(), "not set") {
		t.Errorf("unset key: %v", err)
	}
	if _, _, err := Read(dir, nil); err == nil || !strings.Contains(err.Error(), "no encryption section") {
		t.Errorf("no key: %v", err)
	}
	writeWithSum(t, filepath.Join(dir, Plain), []byte("x"))
	if _, _, err := Read(dir, nil); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("both files: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	if _, err := ParseKey([]byte("short")); err == nil {
		t.Error("short key accepted")
	}
	if k, err := ParseKey([]byte(strings.Repeat("ab", 32) + "\n")); err != nil || k[0] != 0xab {
		t.Errorf("hex key: %v %v", k, err)
	}
}
