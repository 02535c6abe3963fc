// Package testmodels prepares model repositories for tests from the
// generated models in sidecar/testdata/models: copies that a test may edit,
// checksums, encrypted variants, and the ONNX Runtime environment.
package testmodels

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/sidecar/internal/ort"
)

// Source is the committed test model repository.
func Source() string {
	return testutil.TestModels()
}

// InitORT loads ONNX Runtime once for the test process.
func InitORT(t testing.TB) {
	t.Helper()
	if err := ort.Init(testutil.ORTLib(t)); err != nil {
		t.Fatal(err)
	}
}

// Repo returns a fresh temporary repository holding copies of the named models.
func Repo(t testing.TB, models ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, m := range models {
		CopyModel(t, m, dir)
	}
	return dir
}

// CopyModel copies test model name (all its versions) into repo.
func CopyModel(t testing.TB, name, repo string) {
	t.Helper()
	src := filepath.Join(Source(), name)
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		dst := filepath.Join(repo, name, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Write writes data to path and its sha256sum-style checksum to path.sha256.
func Write(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	line := hex.EncodeToString(sum[:]) + "  " + filepath.Base(path) + "\n"
	if err := os.WriteFile(path+".sha256", []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
}

// WriteFile writes a plain file (a config.yaml, say).
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ModelBytes returns the ONNX bytes of a test model version.
func ModelBytes(t testing.TB, model, version string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(Source(), model, version, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
