package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// TestComposeTopology runs what deploy/docker-compose.yml runs, minus the
// containers: the sidecar with the compose command line, Redis with a
// password, and the plugin server as Kong drives it with deploy/kong.yml's
// config, attached to the sidecar over its socket. Only what a container
// provides is swapped in: the socket folder, the model repository's path,
// the secrets folder, Redis' address and the ONNX Runtime library's path.
func TestComposeTopology(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	root := testutil.RepoRoot()
	project := loadCompose(t, "deploy/docker-compose.yml")
	dir := t.TempDir()
	sock := filepath.Join(dir, "run", "sidecar.sock")

	// The sidecar, with compose's command line.
	swap := func(s string) string {
		switch {
		case s == socketPath:
			return sock
		case s == "/opt/modelgate/models":
			return filepath.Join(root, "deploy", "models")
		case strings.HasPrefix(s, "file:"+secretsDir+"/"):
			return "file:" + filepath.Join(dir, "secrets", strings.TrimPrefix(s, "file:"+secretsDir+"/"))
		}
		return s
	}
	sidecarSvc := service(t, project, "sidecar")
	var args []string
	for _, a := range sidecarSvc.Command {
		args = append(args, swap(a))
	}
	metricsPort := testutil.FreePort(t)
	args = append(args, "--metrics-addr", fmt.Sprintf("127.0.0.1:%d", metricsPort), "--ort-lib", testutil.ORTLib(t))
	sidecar := exec.Command(testutil.Binary(t, "modelgate-sidecar"), args...)
	sidecar.Stdout, sidecar.Stderr = testWriter{t, "sidecar"}, testWriter{t, "sidecar"}
	if err := sidecar.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- sidecar.Wait() }()
	t.Cleanup(func() {
		// compose's stop_signal: the sidecar drains and exits cleanly.
		_ = sidecar.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("sidecar after SIGTERM: %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = sidecar.Process.Kill()
			t.Error("sidecar ignored SIGTERM for 30s (compose's stop_grace_period)")
		}
	})

	// Wait with compose's health check until the models are loaded.
	var probe []string
	for _, a := range sidecarSvc.HealthCheck.Test[1:] {
		probe = append(probe, swap(a))
	}
	for {
		out, err := exec.CommandContext(ctx, testutil.Binary(t, "modelgate-sidecar"), probe[1:]...).CombinedOutput()
		if err == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("sidecar exited before it was ready: %v", err)
		case <-ctx.Done():
			t.Fatalf("sidecar never became ready: %s", out)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if fi, err := os.Stat(sock); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o660 {
		t.Errorf("socket %s: mode %v, want 0660", sock, fi.Mode().Perm())
	}

	// Redis with a password, as the compose service runs it.
	rds := testutil.StartRedis(t)
	password := "deploy-test-password"
	rc := redis.NewClient(&redis.Options{Addr: rds.Addr})
	defer rc.Close()
	if err := rc.ConfigSet(ctx, "requirepass", password).Err(); err != nil {
		t.Fatal(err)
	}

	// The secrets compose mounts: the JWT key file and the Redis password.
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	kong := service(t, project, "kong")
	for _, s := range kong.Secrets {
		var content []byte
		switch def := project.Secrets[s.Source]; {
		case def.File != "":
			content = readAbs(t, def.File)
		case def.Environment == "REDIS_PASSWORD":
			content = []byte(password + "\n")
		default:
			t.Fatalf("compose secret %s: no file and not REDIS_PASSWORD", s.Source)
		}
		target := swap("file:" + s.Target)
		if err := os.WriteFile(strings.TrimPrefix(target, "file:"), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// deploy/kong.yml's plugin config, as mounted into the compose Kong.
	decl := *kong.Environment["KONG_DECLARATIVE_CONFIG"]
	mounted := volumeAt(kong, decl)
	cfg := swapStrings(modelgatePlugins(t, "deploy/kong.yml", readAbs(t, mounted.Source))[0], swap).(map[string]any)
	cfg["quotas"].(map[string]any)["redis"].(map[string]any)["addr"] = rds.Addr
	cfg["metrics"].(map[string]any)["addr"] = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	// A consumer whose key this test knows, in a tier the config defines.
	key := "mg_deploy_topology_test_key"
	sum := sha256.Sum256([]byte(key))
	tiers := cfg["quotas"].(map[string]any)["tiers"].([]any)
	auth := cfg["auth"].(map[string]any)
	auth["consumers"] = append(auth["consumers"].([]any), map[string]any{
		"name": "deploy-test", "tier": tiers[0].(map[string]any)["name"], "key_sha256": []any{hex.EncodeToString(sum[:])},
	})

	srv, err := kongharness.Start(ctx, testutil.Binary(t, "modelgate"), kongharness.Options{Output: testWriter{t, "plugin server"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	inst, err := srv.StartInstance(ctx, pluginName, cfg)
	if err != nil {
		t.Fatal(err)
	}

	// The plugin attaches in the background, as after a Kong start: wait
	// until the gateway says it is ready.
	for {
		res, err := srv.Access(ctx, inst.ID, kongharness.Request{Method: "GET", Path: "/v2/health/ready", Header: http.Header{}, ClientIP: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status == http.StatusOK {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("GET /v2/health/ready through the attached sidecar: %d %s", res.Status, res.Body)
		case <-time.After(100 * time.Millisecond):
		}
	}

	body, _ := json.Marshal(map[string]any{"text": "a wonderful, moving film"})
	res, err := srv.Access(ctx, inst.ID, kongharness.Request{
		Method: "POST", Path: "/v1/models/sentiment:predict", Body: body, ClientIP: "127.0.0.1",
		Header: http.Header{"Apikey": {key}, "Content-Type": {"application/json"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusOK {
		t.Fatalf("predict: %d %s", res.Status, res.Body)
	}
	models := cfg["models"].([]any)[0].(map[string]any)
	var versions []string
	for _, v := range models["aliases"].(map[string]any) {
		versions = append(versions, v.(string))
	}
	if v := res.Header.Get("X-Model-Version"); !slices.Contains(versions, v) {
		t.Errorf("predict: X-Model-Version %q, want one of the aliased versions %v", v, versions)
	}
	if !bytes.Contains(res.Body, []byte("predictions")) {
		t.Errorf("predict: %s", res.Body)
	}
	// The quota went through Redis (with its password), not a local counter.
	if res.Header.Get("RateLimit-Limit") == "" && res.Header.Get("X-RateLimit-Limit-Second") == "" {
		t.Errorf("predict: no rate-limit headers: the redis quota policy did not answer (%v)", res.Header)
	}
	rc2 := redis.NewClient(&redis.Options{Addr: rds.Addr, Password: password})
	defer rc2.Close()
	if n, err := rc2.DBSize(ctx).Result(); err != nil || n == 0 {
		t.Errorf("redis holds %d keys (%v) after a request: the quota did not use it", n, err)
	}
}

// swapStrings returns v with every string passed through f.
func swapStrings(v any, f func(string) string) any {
	switch v := v.(type) {
	case string:
		return f(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = swapStrings(e, f)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = swapStrings(e, f)
		}
		return out
	}
	return v
}

func readAbs(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testWriter copies a process's output into the test log, line by line.
type testWriter struct {
	t    *testing.T
	name string
}

func (w testWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.t.Log(w.name + ": " + line)
	}
	return len(p), nil
}
