package serve

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadRootKongYML: the repository's own kong.yml loads without a problem
// (from the repository root, where its relative paths resolve).
func TestLoadRootKongYML(t *testing.T) {
	t.Chdir(testutil.RepoRoot())
	// kong.yml names the sidecar without a path: the one next to the
	// running binary (bin/modelgate's for `make run`; here the test's).
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Dir(exe)
	writeFile(t, bin, "modelgate-sidecar", "#!/bin/sh\n")
	t.Cleanup(func() { os.Remove(filepath.Join(bin, "modelgate-sidecar")) })
	if err := os.Chmod(filepath.Join(bin, "modelgate-sidecar"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, plugins, err := load("kong.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.routes) != 2 || len(plugins) != 1 || plugins[0].entry.route != "" || plugins[0].entry.service != "" {
		t.Fatalf("routes %d, plugins %+v: want two routes and one global modelgate plugin", len(f.routes), plugins)
	}
	m := plugins[0].cfg.Models
	if len(m) != 1 || m[0].Aliases["canary"] != "2" || len(m[0].Split) != 2 || m[0].Split[1].Weight != 10 {
		t.Errorf("models: %+v, want sentiment with a 90/10 split onto canary 2", m)
	}
}

// TestLoadListsEveryProblem: a broken file is refused with every problem, each
// at its line and column.
func TestLoadListsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("MODELGATE_TEST_UNSET", "")
	config := writeFile(t, dir, "kong.yml", `_format_version: "3.0"
servces: []
routes:
  - name: r
    paths: [/v2/, "~/v1/(unclosed"]
    service: missing-service
plugins:
  - name: modelgate
    config:
      sidecar:
        mode: launch
        command: modelgate-sidecar
        args: ["--models", "no/such/models"]
      auth:
        consumer: []
        jwt:
          - issuer: https://issuer.example
            algorithms: [RS256]
            public_key: file:no/such/key.pub
            secret: env:MODELGATE_TEST_UNSET
      models:
        - name: sentiment
          aliases: {stable: 1}
  - name: rate-limiting
`)
	_, _, err := load(config)
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("load: %v, want a *ConfigError", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"kong.yml:2:1: servces: unknown field",
		`kong.yml:5:19: routes[0].paths[1]: regex path "~/v1/(unclosed"`,
		`kong.yml:6:14: routes[0].service: service "missing-service" is not defined in the file`,
		`kong.yml:12:18: plugins[0].config.sidecar.command: cannot run "modelgate-sidecar"`,
		"kong.yml:13:28: plugins[0].config.sidecar.args[1]: model repository no/such/models",
		"kong.yml:15:9: plugins[0].config.auth.consumer: unknown field",
		"kong.yml:19:25: plugins[0].config.auth.jwt[0].public_key: cannot read no/such/key.pub",
		"kong.yml:20:21: plugins[0].config.auth.jwt[0].secret: environment variable MODELGATE_TEST_UNSET is not set",
		`kong.yml:23:29: plugins[0].config.models[0].aliases.stable: expected a string, got int 1 (quote it: "1")`,
		`kong.yml:24:11: plugins[1].name: modelgate serve runs only the modelgate plugin, not "rate-limiting"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q:\n%s", want, msg)
		}
	}
	if ce.Len() != 10 {
		t.Errorf("%d problems, want 10:\n%s", ce.Len(), msg)
	}
}

// TestLoadPlacesValidationErrors: problems the gateway's own config loader
// finds (after the schema check passed) are pointed at their lines too.
func TestLoadPlacesValidationErrors(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	config := writeFile(t, dir, "kong.yml", `_format_version: "3.0"
routes:
  - paths: [/v2/]
plugins:
  - name: modelgate
    config:
      sidecar: {mode: attach, socket: /run/modelgate/none.sock}
      limits: {default_timeout: soon}
      models:
        - name: sentiment
          split:
            - {target: "../x", weight: 1}
`)
	_, _, err := load(config)
	if err == nil {
		t.Fatal("load accepted a bad default_timeout and split target")
	}
	for _, want := range []string{
		"kong.yml:8:33: plugins[0].config.limits.default_timeout:",
		"kong.yml:12:24: plugins[0].config.models[0].split[0].target:",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%s", want, err)
		}
	}
}

func TestLoadUnreadableFile(t *testing.T) {
	_, _, err := load(filepath.Join(t.TempDir(), "absent.yml"))
	if err == nil || !strings.Contains(err.Error(), "cannot read the file") {
		t.Fatalf("load of a missing file: %v", err)
	}
}

// TestLoadKongConsumers: with kong_consumer on, each configured consumer
// must be a Kong consumer of the file.
func TestLoadKongConsumers(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	config := writeFile(t, dir, "kong.yml", `_format_version: "3.0"
consumers:
  - username: demo
routes:
  - paths: [/v2/]
plugins:
  - name: modelgate
    config:
      sidecar: {mode: attach, socket: /run/modelgate/none.sock}
      auth:
        kong_consumer: true
        consumers:
          - {name: demo, tier: free, key_sha256: ["898a4dea032785185a1d2134d113830c204d92cd8ab94298911e6fd455141808"]}
          - {name: ghost, tier: free, key_sha256: ["10690ec5d65705fd6db2bde743b7c1094ce5f28bfa736cdb8875eb14cb2a5abe"]}
      quotas:
        tiers: [{name: free, minute: 10}]
`)
	_, _, err := load(config)
	if err == nil || !strings.Contains(err.Error(), `kong.yml:14:20: plugins[0].config.auth.consumers[1].name: kong_consumer is on, but no Kong consumer has the username "ghost"`) {
		t.Fatalf("load: %v", err)
	}
	if strings.Contains(err.Error(), `"demo"`) {
		t.Errorf("demo is a Kong consumer of the file: %v", err)
	}
}

// TestLoadRefusesFilesOutsideTheFolders: a file: reference that leaves the
// allowed folders through a symlink is refused once, with its line, naming
// the reference and the folders (kong.yml's own among them); serve does
// not open the file to check it is readable.
func TestLoadRefusesFilesOutsideTheFolders(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("MODELGATE_SECRET_DIRS", "")
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "password")); err != nil {
		t.Fatal(err)
	}
	config := writeFile(t, dir, "kong.yml", `_format_version: "3.0"
routes:
  - paths: [/v2/]
plugins:
  - name: modelgate
    config:
      sidecar: {mode: attach, socket: /run/modelgate/none.sock}
      quotas:
        policy: redis
        redis: {addr: "127.0.0.1:6379", password: "file:password"}
        tiers: [{name: free, minute: 10}]
`)
	_, _, err := load(config)
	want := `kong.yml:10:51: plugins[0].config.quotas.redis.password: secret reference "file:password": password resolves to /etc/passwd, outside the allowed folders (/etc/modelgate, ` + dir + `)`
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "1 problem(s)") {
		t.Fatalf("load: %v\nwant %s", err, want)
	}
}
