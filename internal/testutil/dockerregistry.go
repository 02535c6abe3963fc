package testutil

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Registry is a real OCI registry (Debian's docker-registry, distribution 2.8)
// on a loopback port over plain HTTP, owned by one test.
type Registry struct {
	Host string // 127.0.0.1:PORT
	dir  string
	cmd  *exec.Cmd
}

// StartRegistry starts docker-registry (installed by `make test`) with its
// storage in a temporary folder; with users (name -> password) it demands basic
// auth against an htpasswd file of bcrypt hashes, as distribution requires.
// It stops when the test ends.
func StartRegistry(t testing.TB, users map[string]string) *Registry {
	t.Helper()
	dir := t.TempDir()
	r := &Registry{Host: fmt.Sprintf("127.0.0.1:%d", FreePort(t)), dir: dir}
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "storage"), r.Host)
	if len(users) > 0 {
		var htpasswd strings.Builder
		for name, password := range users {
			// bcrypt's minimum cost: the hash only has to be one distribution accepts.
			hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&htpasswd, "%s:%s\n", name, hash)
		}
		file := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(file, []byte(htpasswd.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		config += fmt.Sprintf("auth:\n  htpasswd:\n    realm: modelgate-test\n    path: %s\n", file)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	r.Start(t)
	t.Cleanup(r.Stop)
	return r
}

// Start (re)starts the registry on its port, with the same storage, and waits
// until it answers its API's base endpoint.
func (r *Registry) Start(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/docker-registry"); err != nil {
		t.Fatalf("docker-registry not installed (make test installs it): %v", err)
	}
	r.cmd = exec.Command("/usr/bin/docker-registry", "serve", filepath.Join(r.dir, "config.yml"))
	log, err := os.Create(filepath.Join(r.dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	r.cmd.Stdout, r.cmd.Stderr = log, log
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting docker-registry: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + r.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, _ := os.ReadFile(filepath.Join(r.dir, "registry.log"))
	t.Fatalf("docker-registry did not answer on %s within 20s:\n%s", r.Host, out)
}

// Stop kills the registry and waits for it.
func (r *Registry) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// BlobFile is where the registry stores a blob's bytes (distribution's
// filesystem driver layout), for tests that tamper with what it serves.
func (r *Registry) BlobFile(digest string) string {
	algo, hex, _ := strings.Cut(digest, ":")
	return filepath.Join(r.dir, "storage", "docker", "registry", "v2", "blobs", algo, hex[:2], hex, "data")
}
