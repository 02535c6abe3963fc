package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/sidecar/internal/modelfile"
)

// TestEncryptCommand encrypts a copy of the adder with `modelgate-sidecar
// encrypt`, refuses to encrypt it twice, and serves it from a sidecar run
// with --require-bound-models.
func TestEncryptCommand(t *testing.T) {
	models := t.TempDir()
	v1 := filepath.Join(models, "adder", "1")
	if err := os.MkdirAll(v1, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model.onnx", "model.onnx.sha256"} {
		data, err := os.ReadFile(filepath.Join(testutil.TestModels(), "adder", "1", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(v1, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	config := "max_batch_size: 8\nencryption:\n  key_env: TEST_SIDECAR_MODEL_KEY\n"
	if err := os.WriteFile(filepath.Join(models, "adder", "config.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_SIDECAR_MODEL_KEY", hex.EncodeToString(key))

	bin := testutil.Binary(t, "modelgate-sidecar")
	if out, err := exec.Command(bin, "encrypt", "--key-env", "TEST_SIDECAR_MODEL_KEY", v1).CombinedOutput(); err != nil {
		t.Fatalf("encrypt: %v %s", err, out)
	}
	enc, err := os.ReadFile(filepath.Join(v1, "model.onnx.enc"))
	if err != nil || !bytes.HasPrefix(enc, modelfile.BoundMagic) {
		t.Fatalf("model.onnx.enc: %v, format marker %v", err, bytes.HasPrefix(enc, modelfile.BoundMagic))
	}
	if _, err := os.Stat(filepath.Join(v1, "model.onnx")); !os.IsNotExist(err) {
		t.Errorf("model.onnx left beside model.onnx.enc: %v", err)
	}
	out, err := exec.Command(bin, "encrypt", "--key-env", "TEST_SIDECAR_MODEL_KEY", v1).CombinedOutput()
	if exitCode(err) != 1 || !strings.Contains(string(out), "bound already") {
		t.Errorf("second encrypt: %v %s", err, out)
	}
	if err := exec.Command(bin, "encrypt", v1).Run(); exitCode(err) != 2 {
		t.Errorf("encrypt without a key source: %v, want exit 2", err)
	}
	// A relative --key-file is read from the working directory, as on any
	// command line (config.yaml's key_file is the version folder's).
	v2 := filepath.Join(models, "adder", "2")
	if err := os.MkdirAll(v2, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model.onnx", "model.onnx.sha256"} {
		data, err := os.ReadFile(filepath.Join(testutil.TestModels(), "adder", "1", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(v2, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keyDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(keyDir, "model.key"), []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	relative := exec.Command(bin, "encrypt", "--key-file", "model.key", v2)
	relative.Dir = keyDir
	if out, err := relative.CombinedOutput(); err != nil {
		t.Errorf("encrypt --key-file model.key from its folder: %v %s", err, out)
	}

	s := startSidecarOn(t, models, "", "--require-bound-models")
	c := s.attach(t)
	if _, err := c.ModelInfer(context.Background(), adderRequest()); err != nil {
		t.Fatal(err)
	}
}
