package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// generateSecrets runs deploy/secrets.sh into a fresh folder and returns it.
func generateSecrets(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "secrets")
	cmd := exec.Command("bash", filepath.Join(testutil.RepoRoot(), "deploy", "secrets.sh"), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deploy/secrets.sh: %v %s", err, b)
	}
	return out
}

// scriptOutputs are the files deploy/secrets.sh writes.
func scriptOutputs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(generateSecrets(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestSecretsScript: deploy/secrets.sh writes a working set of credentials,
// different on every run, keeps what must not be mounted private, and never
// replaces a credential.
func TestSecretsScript(t *testing.T) {
	gen := generateSecrets(t)
	read := func(name string) string { return strings.TrimSpace(string(readAbs(t, filepath.Join(gen, name)))) }
	key := read("api-key")
	sum := sha256.Sum256([]byte(key))
	if digest, _, _ := strings.Cut(read("api-keys.sha256"), " "); digest != hex.EncodeToString(sum[:]) || !strings.HasPrefix(key, "mg_") {
		t.Errorf("api-keys.sha256 %q is not the SHA-256 of api-key", digest)
	}
	pub, err := exec.Command("openssl", "pkey", "-in", filepath.Join(gen, "jwt-rs256.key"), "-pubout").Output()
	if err != nil || !bytes.Equal(pub, readAbs(t, filepath.Join(gen, "jwt-rs256.pub"))) {
		t.Errorf("jwt-rs256.pub is not the public half of jwt-rs256.key: %v", err)
	}
	if p := read("redis-password"); len(p) != 64 {
		t.Errorf("redis-password has %d characters, want 64 hex digits", len(p))
	}
	for _, private := range []string{"api-key", "jwt-rs256.key"} {
		if fi, err := os.Stat(filepath.Join(gen, private)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", private, fi.Mode().Perm(), err)
		}
	}
	other := generateSecrets(t)
	for _, f := range []string{"api-key", "jwt-rs256.pub", "redis-password"} {
		if bytes.Equal(readAbs(t, filepath.Join(gen, f)), readAbs(t, filepath.Join(other, f))) {
			t.Errorf("%s is the same on two runs", f)
		}
	}
	out, err := exec.Command("bash", filepath.Join(testutil.RepoRoot(), "deploy", "secrets.sh"), gen).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "refusing to replace") {
		t.Errorf("a second run into the same folder: %v %s", err, out)
	}
	if !bytes.Equal([]byte(key), []byte(read("api-key"))) {
		t.Error("the second run replaced api-key")
	}
}

// lockedBuffer collects a plugin server's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestDeployRefusesDemoCredentials drives the plugin server as Kong does
// with deploy/kong/kong.yml's plugin config and its secrets folder: the
// generated credentials are accepted; the DEMO JWT key, a file holding the
// DEMO API key's digest, or a missing file make the plugin refuse the
// config with a message naming the file. MODELGATE_DEMO=1 (passed by Kong's
// nginx only when KONG_NGINX_MAIN_ENV names it) accepts the DEMO ones.
func TestDeployRefusesDemoCredentials(t *testing.T) {
	demoPub := repoFile(t, "deploy/keys/demo-jwt-rs256.pub")
	demoDigest := "898a4dea032785185a1d2134d113830c204d92cd8ab94298911e6fd455141808  demo\n"
	for _, tc := range []struct {
		name    string
		replace map[string][]byte // file in the secrets folder -> content; nil removes it
		demo    bool
		refused []string // what the log must say; none: accepted
	}{
		{name: "generated"},
		{name: "DEMO JWT key", replace: map[string][]byte{"jwt-rs256.pub": demoPub},
			refused: []string{"jwt-rs256.pub", "DEMO issuer's public key", "MODELGATE_DEMO=1"}},
		{name: "DEMO API key", replace: map[string][]byte{"api-keys.sha256": []byte(demoDigest)},
			refused: []string{"api-keys.sha256", "DEMO API key"}},
		{name: "missing API keys", replace: map[string][]byte{"api-keys.sha256": nil},
			refused: []string{"api-keys.sha256", "no such file"}},
		{name: "missing Redis password", replace: map[string][]byte{"redis-password": nil},
			refused: []string{"redis-password", "no such file"}},
		{name: "DEMO in demo mode", replace: map[string][]byte{"jwt-rs256.pub": demoPub, "api-keys.sha256": []byte(demoDigest)}, demo: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gen := generateSecrets(t)
			for f, content := range tc.replace {
				var err error
				if content == nil {
					err = os.Remove(filepath.Join(gen, f))
				} else {
					err = os.WriteFile(filepath.Join(gen, f), content, 0o644)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			dir := t.TempDir()
			cfg := swapStrings(modelgatePlugins(t, "deploy/kong/kong.yml", repoFile(t, "deploy/kong/kong.yml"))[0], func(s string) string {
				switch {
				case s == socketPath:
					return filepath.Join(dir, "sidecar.sock") // nothing listens: the config is what is tested
				case strings.HasPrefix(s, "file:"+secretsDir+"/"):
					return "file:" + filepath.Join(gen, strings.TrimPrefix(s, "file:"+secretsDir+"/"))
				}
				return s
			}).(map[string]any)
			cfg["metrics"].(map[string]any)["addr"] = "127.0.0.1:0"

			// The image's list of what nginx passes on names MODELGATE_DEMO
			// and MODELGATE_SECRET_DIRS, which allows the test's folders.
			env := []string{"MODELGATE_SECRET_DIRS=" + os.Getenv("MODELGATE_SECRET_DIRS"),
				"KONG_NGINX_MAIN_ENV=" + parseDockerfile(t).env(t, "kong")["KONG_NGINX_MAIN_ENV"]}
			if tc.demo {
				env = append(env, "MODELGATE_DEMO=1")
			}
			var log lockedBuffer
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			srv, err := kongharness.Start(ctx, testutil.Binary(t, "modelgate"), kongharness.Options{
				Environ: []string{"PATH=" + os.Getenv("PATH")}, Env: env, Output: &log,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			inst, err := srv.StartInstance(ctx, pluginName, cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := srv.Access(ctx, inst.ID, kongharness.Request{Method: "GET", Path: "/v2/health/live", Header: http.Header{}, ClientIP: "127.0.0.1"})
			if err != nil {
				t.Fatal(err)
			}
			misconfigured := res.Status == http.StatusInternalServerError && bytes.Contains(res.Body, []byte("misconfigured"))
			if len(tc.refused) == 0 {
				if misconfigured {
					t.Fatalf("config refused: %s", log.String())
				}
				return
			}
			if !misconfigured {
				t.Fatalf("config accepted: %d %s", res.Status, res.Body)
			}
			// The log line reaches the pipe after the answer: wait for it.
			for _, want := range tc.refused {
				for !strings.Contains(log.String(), want) {
					select {
					case <-ctx.Done():
						t.Fatalf("the plugin server's log does not say %q:\n%s", want, log.String())
					case <-time.After(20 * time.Millisecond):
					}
				}
			}
			for _, f := range []string{"redis-password"} {
				if b, err := os.ReadFile(filepath.Join(gen, f)); err == nil && slices.Contains(strings.Fields(log.String()), strings.TrimSpace(string(b))) {
					t.Errorf("the log holds the content of %s", f)
				}
			}
		})
	}
}
