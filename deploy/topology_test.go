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
	corev1 "k8s.io/api/core/v1"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// topology is one way the gateway pod is put together: the sidecar's
// command line and readiness check, the files mounted in the secrets
// folder, and the kong.yml Kong loads.
type topology struct {
	sidecarArgs []string
	readyProbe  []string // argv, binary first
	secrets     map[string][]byte
	kongYml     []byte
	// redisPassword is the password the Redis of this setup runs with.
	redisPassword string
}

// composeTopology reads the topology from deploy/docker-compose.yml.
func composeTopology(t *testing.T) topology {
	t.Helper()
	project := loadCompose(t, "deploy/docker-compose.yml")
	sidecar, kong := service(t, project, "sidecar"), service(t, project, "kong")
	top := topology{
		sidecarArgs:   sidecar.Command,
		readyProbe:    sidecar.HealthCheck.Test[1:],
		secrets:       map[string][]byte{},
		redisPassword: "deploy-test-password", // compose takes it from $REDIS_PASSWORD
	}
	for _, s := range kong.Secrets {
		switch def := project.Secrets[s.Source]; {
		case def.File != "":
			top.secrets[s.Target] = readAbs(t, def.File)
		case def.Environment == "REDIS_PASSWORD":
			top.secrets[s.Target] = []byte(top.redisPassword + "\n")
		default:
			t.Fatalf("compose secret %s: neither a file nor $REDIS_PASSWORD", s.Source)
		}
	}
	top.kongYml = readAbs(t, mountedFile(t, kong, *kong.Environment["KONG_DECLARATIVE_CONFIG"]))
	return top
}

// k8sTopology reads the topology from deploy/k8s: the DaemonSet's sidecar,
// its startup probe, the Secret's projected files and the ConfigMap.
func k8sTopology(t *testing.T) topology {
	t.Helper()
	objs := k8sObjects(t)
	ds, kong, sidecar := gatewayPod(t, objs)
	top := topology{
		sidecarArgs: append(slices.Clone(sidecar.Command), sidecar.Args...),
		readyProbe:  sidecar.StartupProbe.Exec.Command,
		secrets:     map[string][]byte{},
		kongYml:     kongYml(t, "deploy/k8s/configmap.yaml#kong.yml"),
	}
	secVol := volumeOf(&ds.Spec.Template.Spec, mountOf(kong, secretsDir).Name)
	for _, sec := range objectsOf[corev1.Secret](objs) {
		if sec.Name != secVol.Secret.SecretName {
			continue
		}
		for _, it := range secVol.Secret.Items {
			top.secrets[secretsDir+"/"+it.Path] = []byte(sec.StringData[it.Key])
		}
		top.redisPassword = sec.StringData["redis-password"]
	}
	return top
}

// TestTopologies runs what compose and Kubernetes run, minus the
// containers: the sidecar with their command line, Redis with a password,
// and the plugin server as Kong drives it with their kong.yml, attached to
// the sidecar over its socket. Only what a container provides is swapped
// in: the socket folder, the model repository's path, the secrets folder,
// Redis' address and the ONNX Runtime library's path.
func TestTopologies(t *testing.T) {
	for name, load := range map[string]func(*testing.T) topology{"compose": composeTopology, "k8s": k8sTopology} {
		t.Run(name, func(t *testing.T) { runTopology(t, load(t)) })
	}
}

func runTopology(t *testing.T, top topology) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	root := testutil.RepoRoot()
	dir := t.TempDir()
	sock := filepath.Join(dir, "run", "sidecar.sock")
	swap := func(s string) string {
		switch {
		case s == socketPath:
			return sock
		case s == "/opt/modelgate/models", s == "/models":
			return filepath.Join(root, "deploy", "models")
		case strings.HasPrefix(s, "file:"+secretsDir+"/"):
			return "file:" + filepath.Join(dir, "secrets", strings.TrimPrefix(s, "file:"+secretsDir+"/"))
		}
		return s
	}

	// The sidecar, with the setup's command line.
	var args []string
	for _, a := range top.sidecarArgs {
		args = append(args, swap(a))
	}
	args = append(args, "--metrics-addr", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)), "--ort-lib", testutil.ORTLib(t))
	sidecar := exec.Command(testutil.Binary(t, "modelgate-sidecar"), args...)
	sidecar.Stdout, sidecar.Stderr = testWriter{t, "sidecar"}, testWriter{t, "sidecar"}
	if err := sidecar.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = sidecar.Wait(); close(exited) }()
	t.Cleanup(func() {
		// The stop signal both setups send: the sidecar drains and exits cleanly.
		_ = sidecar.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
			if exitErr != nil {
				t.Errorf("sidecar after SIGTERM: %v", exitErr)
			}
		case <-time.After(30 * time.Second):
			_ = sidecar.Process.Kill()
			t.Error("sidecar ignored SIGTERM for 30s (the stop grace period)")
		}
	})

	// Wait, with the setup's own readiness check, until the models are loaded.
	var probe []string
	for _, a := range top.readyProbe[1:] {
		probe = append(probe, swap(a))
	}
	for {
		out, err := exec.CommandContext(ctx, testutil.Binary(t, "modelgate-sidecar"), probe...).CombinedOutput()
		if err == nil {
			break
		}
		select {
		case <-exited:
			t.Fatalf("sidecar exited before it was ready: %v", exitErr)
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

	// Redis with the setup's password.
	rds := testutil.StartRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: rds.Addr})
	defer rc.Close()
	if top.redisPassword == "" {
		t.Fatal("no Redis password")
	}
	if err := rc.ConfigSet(ctx, "requirepass", top.redisPassword).Err(); err != nil {
		t.Fatal(err)
	}

	// The mounted secrets.
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	for target, content := range top.secrets {
		if err := os.WriteFile(strings.TrimPrefix(swap("file:"+target), "file:"), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// The plugin config from the setup's kong.yml.
	cfg := swapStrings(modelgatePlugins(t, "kong.yml", top.kongYml)[0], swap).(map[string]any)
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
	// A token of the demo issuer: the JWT key comes from the mounted secret.
	token, err := exec.CommandContext(ctx, "bash", filepath.Join(root, "deploy", "keys", "mint-demo-token.sh"), "deploy-topology-test", "600").Output()
	if err != nil {
		t.Fatalf("mint-demo-token.sh: %v", err)
	}
	jwtRes, err := srv.Access(ctx, inst.ID, kongharness.Request{
		Method: "POST", Path: "/v1/models/sentiment:predict", Body: body, ClientIP: "127.0.0.1",
		Header: http.Header{"Authorization": {"Bearer " + strings.TrimSpace(string(token))}, "Content-Type": {"application/json"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if jwtRes.Status != http.StatusOK {
		t.Errorf("predict with the demo issuer's JWT: %d %s", jwtRes.Status, jwtRes.Body)
	}

	// The quota went through Redis (with its password), not a local counter.
	if res.Header.Get("RateLimit-Limit") == "" && res.Header.Get("X-RateLimit-Limit-Second") == "" {
		t.Errorf("predict: no rate-limit headers: the redis quota policy did not answer (%v)", res.Header)
	}
	rc2 := redis.NewClient(&redis.Options{Addr: rds.Addr, Password: top.redisPassword})
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
