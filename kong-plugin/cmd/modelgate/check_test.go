package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

// runModelgateCheck runs the built `modelgate check` with args and returns
// its exit code, stdout and stderr.
func runModelgateCheck(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t, "modelgate"), append([]string{"check"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatal(err)
	return 0, "", ""
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheckRepositoryKongYML: the kong.yml files the project ships pass,
// the root one (DEMO credentials) only with MODELGATE_DEMO=1, as the
// plugin would take it.
func TestCheckRepositoryKongYML(t *testing.T) {
	// metrics.addr ":9542" listens on every interface: the image allows it (Dockerfile).
	t.Setenv("MODELGATE_ALLOW_LISTEN", ":9542")
	t.Setenv("MODELGATE_DEMO", "")
	for _, f := range []string{"deploy/kong/kong.yml", "kong-plugin/kongharness/testdata/kong.yml"} {
		code, stdout, stderr := runModelgateCheck(t, filepath.Join(testutil.RepoRoot(), f))
		if code != 0 || !strings.Contains(stdout, ": OK") {
			t.Errorf("%s: exit %d\n%s%s", f, code, stdout, stderr)
		}
	}
	t.Setenv("MODELGATE_DEMO", "1")
	if code, stdout, stderr := runModelgateCheck(t, filepath.Join(testutil.RepoRoot(), "kong.yml")); code != 0 || !strings.Contains(stdout, ": OK") {
		t.Errorf("kong.yml with MODELGATE_DEMO=1: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestCheckRefusesDemoCredentials: `modelgate check` refuses the root
// kong.yml's DEMO key digest and issuer key as the plugin does at start
// without MODELGATE_DEMO=1: exit 1, each with its line, from any working
// directory (the key file is the kong.yml folder's).
func TestCheckRefusesDemoCredentials(t *testing.T) {
	t.Setenv("MODELGATE_DEMO", "")
	file := filepath.Join(testutil.RepoRoot(), "kong.yml")
	code, stdout, stderr := runModelgateCheck(t, file)
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d, stdout %q; want 1 and nothing\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"2 problem(s)",
		file + ":67:17: plugins[0].config.auth.consumers[0].key_sha256[0]: the DEMO API key's digest is the repository's public DEMO credential",
		file + ":75:25: plugins[0].config.auth.jwt[0].public_key: file:deploy/keys/demo-jwt-rs256.pub holds the DEMO issuer's public key",
		"MODELGATE_DEMO=1",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("missing %q in:\n%s", want, stderr)
		}
	}
}

// TestCheckRefusesPathsOutsideTheFolders: a file: reference that leaves
// the allowed folders by ".." is refused with its line, naming the
// reference and the folders.
func TestCheckRefusesPathsOutsideTheFolders(t *testing.T) {
	file := writeFile(t, "kong.yml", `_format_version: "3.0"
plugins:
  - name: modelgate
    config:
      sidecar: {mode: attach, socket: /run/modelgate/sidecar.sock}
      quotas:
        policy: redis
        redis: {addr: "127.0.0.1:6379", password: "file:../../../../etc/passwd"}
`)
	code, _, stderr := runModelgateCheck(t, file)
	if code != 1 || !strings.Contains(stderr, file+`:8:51: plugins[0].config.quotas.redis.password: secret reference "file:../../../../etc/passwd": `) ||
		!strings.Contains(stderr, "/etc/passwd is outside the allowed folders (/etc/modelgate, "+filepath.Dir(file)) {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
}

// TestCheckListsEveryProblem: what Kong's schema refuses and what the
// plugin's loader refuses, each with its line and column, exit 1.
func TestCheckListsEveryProblem(t *testing.T) {
	file := writeFile(t, "kong.yml", `_format_version: "3.0"
routes:
  - name: r
    paths: [/v2/]
    plugins:
      - name: modelgate
        config:
          sidecar: {mode: bogus}
plugins:
  - name: modelgate
    config:
      sidecar:
        mode: launch
        command: ""
      metrics: null
      limits: {max_body_bytes: "8m", nope: 1}
  - name: rate-limiting
    config: {minute: 5}
`)
	code, stdout, stderr := runModelgateCheck(t, file)
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, want 1 and nothing", code, stdout)
	}
	for _, want := range []string{
		"5 problem(s)",
		file + `:8:27: routes[0].plugins[0].config.sidecar.mode: "bogus" is not launch or attach`,
		file + `:14:18: plugins[0].config.sidecar.command: length must be at least 1`,
		file + `:15:16: plugins[0].config.metrics: required field missing`,
		file + `:16:32: plugins[0].config.limits.max_body_bytes: expected an integer`,
		file + `:16:38: plugins[0].config.limits.nope: unknown field`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("missing %q in:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "rate-limiting") || strings.Contains(stderr, "minute") {
		t.Errorf("another plugin's config was checked:\n%s", stderr)
	}
}

// TestCheckEmptyMetricsAddr is issue 11's case: the root kong.yml as it
// was, with metrics.addr "", which Kong refuses at start-up.
func TestCheckEmptyMetricsAddr(t *testing.T) {
	file := writeFile(t, "kong.yml", `_format_version: "3.0"
plugins:
  - name: modelgate
    config:
      sidecar: {mode: attach, socket: /run/modelgate/sidecar.sock}
      metrics:
        addr: ""
`)
	code, _, stderr := runModelgateCheck(t, file)
	if code != 1 || !strings.Contains(stderr, file+":7:15: plugins[0].config.metrics.addr: length must be at least 1") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
}

// TestCheckUsageAndUnreadable: usage errors exit 2; a file that cannot be
// read, is not YAML or has no modelgate plugin exits 1.
func TestCheckUsageAndUnreadable(t *testing.T) {
	for _, args := range [][]string{nil, {"a.yml", "b.yml"}, {"-x", "a.yml"}} {
		if code, _, stderr := runModelgateCheck(t, args...); code != 2 || !strings.Contains(stderr, "usage: modelgate check FILE") {
			t.Errorf("check %q: exit %d, want 2 and the usage:\n%s", args, code, stderr)
		}
	}
	for _, tt := range []struct{ name, file, want string }{
		{"missing", filepath.Join(t.TempDir(), "none.yml"), "cannot read the file"},
		{"not YAML", writeFile(t, "bad.yml", "plugins: [a"), "not YAML"},
		{"no plugin", writeFile(t, "empty.yml", "_format_version: \"3.0\"\n"), "no modelgate plugin"},
	} {
		if code, _, stderr := runModelgateCheck(t, tt.file); code != 1 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, want 1 and %q:\n%s", tt.name, code, tt.want, stderr)
		}
	}
}
