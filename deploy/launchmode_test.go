package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// demoAPIKey is the root kong.yml's documented, public demo API key.
const demoAPIKey = "mg_demo_e61044aa8a46a9ee4a1912d0839d8a2f"

// TestImageLaunchModeEnvironment runs the image alone as an operator with
// encrypted models would: the root kong.yml (the sidecar launched by the
// plugin server), the Kong image's environment plus `docker run -e
// KONG_DECLARATIVE_CONFIG=/opt/modelgate/kong.yml -e MODELGATE_DEMO=1 -e
// MODELGATE_MODEL_KEY=... -e MODELGATE_LOG_LEVEL=debug`, and the plugin
// server started with only what Kong's nginx passes it (kongharness). The
// sidecar can decrypt the models only if the key got through nginx.
func TestImageLaunchModeEnvironment(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	root := testutil.RepoRoot()

	// /opt/modelgate, as the image lays it out, with the example models
	// encrypted under a fresh key.
	opt := t.TempDir()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	encryptRepository(t, filepath.Join(root, "deploy", "models"), filepath.Join(opt, "deploy", "models"), key)
	if err := os.MkdirAll(filepath.Join(opt, "deploy", "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(opt, "deploy", "keys", "demo-jwt-rs256.pub"), repoFile(t, "deploy/keys/demo-jwt-rs256.pub"), 0o644); err != nil {
		t.Fatal(err)
	}

	// The container's environment, with this machine's paths for the two
	// the image fills in (its /usr/local/bin and ONNX Runtime library).
	var env []string
	for _, kv := range imageEnv(t) {
		switch name, _, _ := strings.Cut(kv, "="); name {
		case "PATH":
			kv = "PATH=" + filepath.Dir(testutil.Binary(t, "modelgate-sidecar")) + string(os.PathListSeparator) + os.Getenv("PATH")
		case "ORT_LIB":
			kv = "ORT_LIB=" + testutil.ORTLib(t)
		}
		env = append(env, kv)
	}
	env = append(env, "KONG_DECLARATIVE_CONFIG=/opt/modelgate/kong.yml", "MODELGATE_DEMO=1",
		"MODELGATE_MODEL_KEY="+hex.EncodeToString(key), "MODELGATE_LOG_LEVEL=debug")

	srv, err := kongharness.Start(ctx, testutil.Binary(t, "modelgate"), kongharness.Options{
		Dir: opt, Environ: env, Output: testWriter{t, "plugin server"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	environ, err := os.ReadFile("/proc/" + strconv.Itoa(srv.Pid()) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(append([]byte{0}, environ...), []byte("\x00MODELGATE_LOG_LEVEL=debug\x00")) {
		t.Error("MODELGATE_LOG_LEVEL did not reach the plugin server")
	}

	cfg := modelgatePlugins(t, "kong.yml", repoFile(t, "kong.yml"))[0]
	inst, err := srv.StartInstance(ctx, pluginName, cfg)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"text": "a wonderful film, truly great"})
	for {
		// The first request waits for the sidecar's first start; a sidecar
		// without the key loads no model and never gets ready.
		res, err := srv.Access(ctx, inst.ID, kongharness.Request{
			Method: "POST", Path: "/v1/models/sentiment:predict", Body: body, ClientIP: "127.0.0.1",
			Header: http.Header{"Apikey": {demoAPIKey}, "Content-Type": {"application/json"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status == http.StatusOK {
			if !bytes.Contains(res.Body, []byte("positive")) {
				t.Errorf("predict: %s", res.Body)
			}
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the encrypted models never served (did MODELGATE_MODEL_KEY reach the sidecar?): %d %s", res.Status, res.Body)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// encryptRepository copies the model repository src to dst, each config.yaml
// told to take the key from $MODELGATE_MODEL_KEY, and encrypts every version
// with `modelgate-sidecar encrypt` as an operator would (model.onnx.enc bound
// to its model and version).
func encryptRepository(t *testing.T, src, dst string, key []byte) {
	t.Helper()
	var versions []string
	err := filepath.WalkDir(src, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		switch e.Name() {
		case "model.onnx":
			versions = append(versions, filepath.Dir(out))
		case "config.yaml":
			data = append(data, "\nencryption:\n  key_env: MODELGATE_MODEL_KEY\n"...)
		}
		return os.WriteFile(out, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range versions {
		cmd := exec.Command(testutil.Binary(t, "modelgate-sidecar"), "encrypt", "--key-env", "MODELGATE_MODEL_KEY", v)
		cmd.Env = append(os.Environ(), "MODELGATE_MODEL_KEY="+hex.EncodeToString(key))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("modelgate-sidecar encrypt %s: %v %s", v, err, out)
		}
	}
}
