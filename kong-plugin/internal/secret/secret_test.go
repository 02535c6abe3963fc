package secret

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/pathbound"
	"github.com/modelgate/modelgate/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.MainWithSecretDirs(m)) }

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("SECRET_TEST_VALUE", "s3cr3t\n")
	t.Setenv("SECRET_TEST_EMPTY", "")
	withNewline := write("nl", "from-file\r\n")
	binary := write("bin", "\x00\x01\xff")
	empty := write("empty", "\n")

	tests := []struct {
		ref, want, err string
		is             error
	}{
		{ref: "env:SECRET_TEST_VALUE", want: "s3cr3t"},
		{ref: "file:" + withNewline, want: "from-file"},
		{ref: "file:" + binary, want: "\x00\x01\xff"},
		{ref: "env:SECRET_TEST_UNSET", err: "environment variable SECRET_TEST_UNSET is not set"},
		{ref: "env:SECRET_TEST_EMPTY", is: ErrEmpty},
		{ref: "file:" + empty, is: ErrEmpty},
		{ref: "file:" + filepath.Join(dir, "missing"), is: os.ErrNotExist},
		{ref: "hunter2", is: ErrLiteral},
		{ref: "", is: ErrLiteral},
		{ref: "ENV:X", is: ErrLiteral},
		{ref: "env:", err: "invalid variable name"},
		{ref: "env:A=B", err: "invalid variable name"},
		{ref: "file:", err: "empty path"},
	}
	for _, tt := range tests {
		got, err := Resolve(tt.ref, pathbound.Folders{dir})
		switch {
		case tt.err == "" && tt.is == nil:
			if err != nil || string(got) != tt.want {
				t.Errorf("Resolve(%q) = %q, %v; want %q", tt.ref, got, err, tt.want)
			}
		case tt.is != nil && !errors.Is(err, tt.is):
			t.Errorf("Resolve(%q): %v, want %v", tt.ref, err, tt.is)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("Resolve(%q): %v, want %q", tt.ref, err, tt.err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("literal leaked: %v", err)
		}
	}
}

// TestResolveStaysInFolders: a file: reference is read only where its path
// leads, through every link and "..", into an allowed folder; the error
// names the reference and the folders, never the value.
func TestResolveStaysInFolders(t *testing.T) {
	allowed, outside := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "key"), []byte("outside-value"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(allowed, "key"), []byte("inside-value"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "key"), filepath.Join(allowed, "link")); err != nil {
		t.Fatal(err)
	}
	folders := pathbound.Folders{allowed}
	if got, err := Resolve("file:"+filepath.Join(allowed, "key"), folders); err != nil || string(got) != "inside-value" {
		t.Errorf("allowed file: %q, %v", got, err)
	}
	for _, ref := range []string{
		"file:" + filepath.Join(allowed, "link"),
		"file:" + filepath.Join(allowed, "..", filepath.Base(outside), "key"),
		"file:" + filepath.Join(outside, "key"),
	} {
		_, err := Resolve(ref, folders)
		if !errors.Is(err, pathbound.ErrOutside) || !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), allowed) ||
			strings.Contains(err.Error(), "outside-value") {
			t.Errorf("Resolve(%s): %v; want a refusal naming the reference and %s", ref, err, allowed)
		}
	}
}
