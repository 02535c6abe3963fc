package resilience

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelgate/modelgate/bench"
)

// adderLatest is the adder model's config with a latest-1 version policy:
// a new version folder replaces the serving one.
func adderLatest(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testRepo(), "adder", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(data), "version_policy:\n  all: true", "version_policy:\n  latest: 1", 1)
	if cfg == string(data) {
		t.Fatal("adder config.yaml no longer has `version_policy: all: true` to replace")
	}
	return cfg
}

// TestRolloutUnderLoad drops version 2 into the repository while 8 clients
// send requests: the sidecar's poll loads it, the gateway's latest-version
// routing moves to it, version 1 drains and unloads, and not one request fails.
func TestRolloutUnderLoad(t *testing.T) {
	repo := t.TempDir()
	copyModel(t, repo, "adder", adderLatest(t), "1")
	s := startServe(t, bench.GatewayConfig{Sidecar: launchSidecar(t, repo, "--poll-interval", "100ms")})
	const path = "/v2/models/adder/infer"

	var sawV2 atomic.Bool
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan []result)
	go func() {
		done <- hammer(ctx, 8, func(ctx context.Context) result {
			r := s.infer(ctx, path, adderBody, requestTimeout)
			if r.status == http.StatusOK && r.header.Get("X-Model-Version") == "2" {
				sawV2.Store(true)
			}
			return r
		})
	}()
	time.Sleep(time.Second)
	// Stage the version outside the repository and rename it in, so the
	// poll never sees a half-copied folder.
	staged := filepath.Join(t.TempDir(), "2")
	copyDir(t, filepath.Join(testRepo(), "adder", "2"), staged)
	rolledAt := time.Now()
	if err := os.Rename(staged, filepath.Join(repo, "adder", "2")); err != nil {
		t.Fatal(err)
	}
	servedV2 := waitFor(60*time.Second, sawV2.Load)
	// Version 1 is unloaded once its ready endpoint stops answering 200
	// (while the same call for version 2 does, so it is not an auth failure).
	var v1Status int
	v1Gone := servedV2 && waitFor(60*time.Second, func() bool {
		r := s.do(t.Context(), "GET", "/v2/models/adder/versions/1/ready", nil, http.Header{"Apikey": {s.key}})
		v1Status = r.status
		return r.err == nil && r.status != http.StatusOK
	})
	if r := s.do(t.Context(), "GET", "/v2/models/adder/versions/2/ready", nil, http.Header{"Apikey": {s.key}}); r.status != http.StatusOK {
		t.Errorf("version 2 ready: %v", r)
	}
	unloadedAt := time.Now()
	time.Sleep(500 * time.Millisecond)
	stop()
	results := <-done
	if !servedV2 {
		t.Fatal("version 2 never answered within 60s of being rolled in")
	}
	if !v1Gone {
		t.Error("version 1 still ready 60s after version 2 served")
	}
	versions := map[string]int{}
	lateV1 := 0
	for _, r := range results {
		if r.err != nil || r.status != http.StatusOK {
			t.Errorf("request sent %v after the roll failed: %v", r.start.Sub(rolledAt), r)
			continue
		}
		v := r.header.Get("X-Model-Version")
		versions[v]++
		if v == "1" && r.start.After(unloadedAt) {
			lateV1++
		}
	}
	t.Logf("rolled 1 -> 2 under load: %d requests, answers by version %v, version 1 unloaded (ready: %d) %v after the roll",
		len(results), versions, v1Status, unloadedAt.Sub(rolledAt).Round(time.Millisecond))
	if versions["1"] == 0 || versions["2"] == 0 {
		t.Errorf("answers by version %v, want both 1 and 2", versions)
	}
	if lateV1 > 0 {
		t.Errorf("%d requests sent after version 1 was unloaded were answered by it", lateV1)
	}
}
