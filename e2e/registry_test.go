package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/registry"
	"github.com/modelgate/modelgate/internal/testutil"
)

// TestServeFromRegistryUnderLoad: `modelgate serve` launches its sidecar as
// kong.yml says, pulling the example model from a real registry (signed
// versions only). Version 2 is pushed and signed while 4 clients call the
// model's latest version through serve: no request fails, and afterwards
// version 2 answers and the index shows it came from the registry.
func TestServeFromRegistryUnderLoad(t *testing.T) {
	reg := testutil.StartRegistry(t, nil)
	dockerConfig := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dockerConfig)
	// --registry is guarded: the operator allows it; the sidecar gets DOCKER_CONFIG too.
	t.Setenv("MODELGATE_ALLOW_SIDECAR_FLAGS", "registry")
	t.Setenv("MODELGATE_SIDECAR_PASS_ENV", "DOCKER_CONFIG")
	ctx := context.Background()
	client, err := registry.NewClient(true)
	if err != nil {
		t.Fatal(err)
	}
	dir := repoCopy(t)
	key := testutil.SigningKey(t, filepath.Join(dir, "registry.pub"))
	name := reg.Host + "/models/sentiment"
	pushAndSign := func(version string) string {
		t.Helper()
		p, err := client.Push(ctx, filepath.Join(dir, "deploy", "models", "sentiment", version), name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.Sign(ctx, name+":"+version, key); err != nil {
			t.Fatal(err)
		}
		return p.Digest.String()
	}
	pushAndSign("1")

	// The node's models folder starts empty; the routing leaves the version
	// to the sidecar (its latest), and the quota does not stop the clients.
	config := filepath.Join(dir, "kong.yml")
	editFile(t, config, `args: ["--models", "deploy/models"]`, fmt.Sprintf(
		`args: ["--models", "node-models", "--registry", "%s/models", "--registry-models", "sentiment", "--registry-plain-http", "--registry-key", "registry.pub", "--registry-interval", "200ms"]`,
		reg.Host))
	if err := os.Mkdir(filepath.Join(dir, "node-models"), 0o755); err != nil {
		t.Fatal(err)
	}
	editFile(t, config, `          aliases: {stable: "1", canary: "2"}
          default_alias: stable
          # 90/10 canary, sticky per consumer (hash of consumer and model).
          split:
            - {target: stable, weight: 90}
            - {target: canary, weight: 10}
`, "")
	editFile(t, config, "            minute: 600\n            day: 20000\n", "")
	editFile(t, config, "items_per_day: 100000", "items_per_day: 100000000")
	s := startServe(t, dir, config)

	predict := func() (string, error) {
		req, err := http.NewRequest(http.MethodPost, "http://"+s.addr+"/v1/models/sentiment:predict",
			strings.NewReader(`{"instances": ["a wonderful, moving film"]}`))
		if err != nil {
			return "", err
		}
		req.Header.Set("Apikey", demoKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			return "", err
		}
		if res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"positive"`)) {
			return "", fmt.Errorf("%d %s", res.StatusCode, body)
		}
		return res.Header.Get("X-Model-Version"), nil
	}
	if v, err := predict(); err != nil || v != "1" {
		t.Fatalf("before the push: version %q, %v; want 1", v, err)
	}

	stop := make(chan struct{})
	var answered atomic.Int64
	var mu sync.Mutex
	var failures []string
	var load sync.WaitGroup
	for range 4 {
		load.Add(1)
		go func() {
			defer load.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := predict(); err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
				} else {
					answered.Add(1)
				}
			}
		}()
	}
	second := pushAndSign("2")
	var latest string
	for deadline := time.Now().Add(startupBound); latest != "2"; time.Sleep(20 * time.Millisecond) {
		if latest, err = predict(); err != nil {
			mu.Lock()
			failures = append(failures, err.Error())
			mu.Unlock()
		}
		if time.Now().After(deadline) {
			break
		}
	}
	close(stop)
	load.Wait()
	if latest != "2" {
		t.Fatalf("version 2 never answered after its push:\n%s", s.output)
	}
	t.Logf("while version 2 was pushed, signed, pulled and loaded: %d requests answered, %d failed", answered.Load(), len(failures))
	if len(failures) > 0 || answered.Load() == 0 {
		t.Errorf("while version 2 was pushed, signed, pulled and loaded: %d requests failed (first: %v), %d answered",
			len(failures), failures[:min(len(failures), 1)], answered.Load())
	}

	status, _, body := s.do(t, http.MethodPost, "/v2/repository/index", http.Header{"Apikey": {demoKey}}, "")
	var index []struct{ Name, Version, State, Digest, Source string }
	if status != http.StatusOK || json.Unmarshal(body, &index) != nil {
		t.Fatalf("index: %d %s", status, body)
	}
	found := false
	for _, e := range index {
		if e.Name == "sentiment" && e.Version == "2" {
			found = e.State == "READY" && e.Source == "registry" && e.Digest == second
		}
	}
	if !found || bytes.Contains(body, []byte(reg.Host)) {
		t.Errorf("index %s: want sentiment 2 READY from the registry with digest %s, and no registry address", body, second)
	}
}
