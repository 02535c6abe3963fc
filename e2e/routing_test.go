package e2e

import (
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

// versionOf predicts once as subject and returns the version that answered.
func versionOf(t *testing.T, s *server, h http.Header) string {
	t.Helper()
	status, header, body := s.do(t, http.MethodPost, "/v1/models/sentiment:predict", h, `{"text": "fine"}`)
	if status != http.StatusOK {
		t.Fatalf("predict: %d %s", status, body)
	}
	return header.Get("X-Model-Version")
}

// split sends one request for each of n subjects and counts versions.
func split(t *testing.T, s *server, subjects []string, headers []http.Header) (map[string]int, map[string]string) {
	t.Helper()
	counts, chosen := map[string]int{}, map[string]string{}
	for i, subject := range subjects {
		v := versionOf(t, s, headers[i])
		counts[v]++
		chosen[subject] = v
	}
	return counts, chosen
}

func subjects(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("canary-subject-%04d", i)
	}
	return out
}

// TestCanarySplit: kong.yml's 90/10 split between stable (v1) and canary (v2)
// over many consumers (JWT subjects) lands near 90/10, and each consumer
// keeps its version.
func TestCanarySplit(t *testing.T) {
	s := startServe(t, testutil.RepoRoot(), "kong.yml")
	key := demoSigner(t)
	names := subjects(1000)
	headers := make([]http.Header, len(names))
	for i, name := range names {
		headers[i] = bearer(t, key, name)
	}
	counts, chosen := split(t, s, names, headers)
	if counts["1"]+counts["2"] != len(names) {
		t.Fatalf("versions answered: %v, want only 1 and 2", counts)
	}
	// 1,000 consumers at 10%: the standard deviation is under one point; allow three.
	canary := float64(counts["2"]) / float64(len(names))
	t.Logf("%d consumers: %d on version 1, %d on version 2 (canary share %.3f)", len(names), counts["1"], counts["2"], canary)
	if math.Abs(canary-0.10) > 0.03 {
		t.Errorf("canary share %.3f (%v), want 0.10 +- 0.03", canary, counts)
	}
	// Sticky: the same consumers again, with fresh tokens, get the same versions.
	for _, name := range names[:200] {
		if v := versionOf(t, s, bearer(t, key, name)); v != chosen[name] {
			t.Errorf("consumer %s got version %s, then %s", name, chosen[name], v)
		}
	}
}

// TestRollback: pointing the canary alias back at version 1 in kong.yml and
// restarting moves the canary's consumers to version 1; giving the canary all
// the weight moves everyone to version 2.
func TestRollback(t *testing.T) {
	key := demoSigner(t)
	names := subjects(300)
	headers := make([]http.Header, len(names))
	for i, name := range names {
		headers[i] = bearer(t, key, name)
	}
	dir := repoCopy(t)
	config := filepath.Join(dir, "kong.yml")

	before := startServe(t, dir, config)
	counts, _ := split(t, before, names, headers)
	if counts["2"] == 0 {
		t.Fatalf("before the rollback no consumer is on the canary: %v", counts)
	}
	before.stop(t)

	editFile(t, config, `canary: "2"`, `canary: "1"`)
	after := startServe(t, dir, config)
	if counts, _ := split(t, after, names, headers); counts["1"] != len(names) {
		t.Errorf("after the rollback: %v, want every consumer on version 1", counts)
	}
	after.stop(t)

	editFile(t, config, `canary: "1"`, `canary: "2"`)
	editFile(t, config, "{target: stable, weight: 90}", "{target: stable, weight: 0}")
	promoted := startServe(t, dir, config)
	if counts, _ := split(t, promoted, names, headers); counts["2"] != len(names) {
		t.Errorf("after promoting the canary: %v, want every consumer on version 2", counts)
	}
}
