package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/registry"
	"github.com/modelgate/modelgate/internal/testutil"
)

// TestServeFromRegistry starts a sidecar on an empty models folder that pulls
// the adder from a real registry: signed versions 1 and 2 are pulled and
// served, an unsigned version 3 is refused and never served, and with the
// registry stopped the pulled versions keep serving; restarted, a version
// signed meanwhile is pulled. Version 2 is picked up under load with no
// failed request.
func TestServeFromRegistry(t *testing.T) {
	reg := testutil.StartRegistry(t, nil)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ctx := context.Background()
	client, err := registry.NewClient(true)
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(t.TempDir(), "pub.pem")
	key := testutil.SigningKey(t, pub)
	push := func(v string, sign bool) {
		t.Helper()
		if _, err := client.Push(ctx, filepath.Join(testutil.TestModels(), "adder", v), reg.Host+"/models/adder"); err != nil {
			t.Fatal(err)
		}
		if sign {
			if _, err := client.Sign(ctx, reg.Host+"/models/adder:"+v, key); err != nil {
				t.Fatal(err)
			}
		}
	}
	push("1", true)

	s := startSidecarOn(t, t.TempDir(), "", "--registry", reg.Host+"/models", "--registry-models", "adder",
		"--registry-plain-http", "--registry-key", pub, "--registry-interval", "100ms")
	c := s.attach(t)
	served := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; {
			resp, err := c.ModelInfer(ctx, adderRequest())
			if err == nil && resp.ModelVersion == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("version %s never served: %v %v", want, resp, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	served("1")

	// Version 2 arrives while requests keep coming: none of them fails.
	stop := make(chan struct{})
	var failed, answered atomic.Int64
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
				if _, err := c.ModelInfer(ctx, adderRequest()); err != nil {
					failed.Add(1)
				} else {
					answered.Add(1)
				}
			}
		}()
	}
	push("2", true)
	served("2")
	close(stop)
	load.Wait()
	if failed.Load() != 0 || answered.Load() == 0 {
		t.Errorf("while version 2 was pulled and loaded: %d requests failed, %d answered", failed.Load(), answered.Load())
	}
	push("3", false)
	for deadline := time.Now().Add(30 * time.Second); !bytes.Contains(metricsBody(t, s), []byte(`modelgate_sidecar_registry_pulls_total{model="adder",outcome="refused"}`)); {
		if time.Now().After(deadline) {
			t.Fatalf("unsigned version 3 was never refused:\n%s", metricsBody(t, s))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(s.models, "adder", "3")); err == nil {
		t.Error("unsigned version 3 was pulled")
	}
	body := metricsBody(t, s)
	for _, want := range []string{
		`modelgate_sidecar_registry_pulls_total{model="adder",outcome="ok"} 2`,
		`modelgate_sidecar_registry_pulled_bytes_total{model="adder"}`,
		`modelgate_sidecar_loaded_versions{model="adder"} 2`,
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	reg.Stop()
	for deadline := time.Now().Add(30 * time.Second); !bytes.Contains(metricsBody(t, s), []byte(`modelgate_sidecar_registry_sync_failures_total{model="adder"}`)); {
		if time.Now().After(deadline) {
			t.Fatal("no failed sync counted with the registry down")
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := c.ModelInfer(ctx, adderRequest())
	if err != nil || resp.ModelVersion != "2" {
		t.Errorf("with the registry down: %v %v, want version 2 serving", resp, err)
	}

	// The registry back, version 3 signed now: the retried sync pulls it.
	reg.Start(t)
	if _, err := client.Sign(ctx, reg.Host+"/models/adder:3", key); err != nil {
		t.Fatal(err)
	}
	served("3")
}

func metricsBody(t *testing.T, s *sidecar) []byte {
	t.Helper()
	resp, err := http.Get("http://" + s.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
