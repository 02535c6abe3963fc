package serve

import (
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMainRefusesBadInvocations: flag mistakes, stray arguments and a config
// with problems all return an error before anything starts.
func TestMainRefusesBadInvocations(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeFile(t, dir, "bad.yml", "_format_version: \"3.0\"\nroutes: 3\n")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
		{[]string{"--config", "bad.yml", "extra"}, "unexpected arguments"},
		{[]string{"--config", "bad.yml"}, "bad.yml:2:9: routes: expected a list"},
		{[]string{"--config", "absent.yml"}, "cannot read the file"},
	}
	for _, tt := range tests {
		err := Main(context.Background(), tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Main(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
	if err := Main(context.Background(), []string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("Main(-h) = %v, want flag.ErrHelp", err)
	}
}

// TestMainGivesUpOnAMissingSidecar: in attach mode with no sidecar on the
// socket, serve reports that the models never became ready instead of
// serving 503s forever. --cpuprofile still leaves a complete profile.
func TestMainGivesUpOnAMissingSidecar(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeFile(t, dir, "kong.yml", `_format_version: "3.0"
routes:
  - paths: [/v2/]
plugins:
  - name: modelgate
    config:
      sidecar: {mode: attach, socket: `+dir+`/absent.sock, start_timeout: 50ms, max_backoff: 50ms}
`)
	prof := filepath.Join(dir, "cpu.pprof")
	err := Main(context.Background(), []string{"--config", "kong.yml", "--listen", "127.0.0.1:0", "--ready-timeout", "300ms",
		"--cpuprofile", prof})
	if err == nil || !strings.Contains(err.Error(), "not ready after 300ms") {
		t.Fatalf("Main = %v, want a not-ready error", err)
	}
	// A pprof profile is gzip-compressed protobuf: complete means it has
	// the gzip header and gzip reads it to the end.
	f, err := os.Open(prof)
	if err != nil {
		t.Fatalf("no CPU profile: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("CPU profile is not gzip: %v", err)
	}
	if b, err := io.ReadAll(zr); err != nil || len(b) == 0 {
		t.Fatalf("CPU profile truncated: %d bytes, %v", len(b), err)
	}
}
