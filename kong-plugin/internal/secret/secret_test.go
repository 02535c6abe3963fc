package secret

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
		got, err := Resolve(tt.ref)
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
