package resilience

import (
	"context"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/modelgate/modelgate/bench"
)

// requestTimeout bounds each request of the load in these tests: a request
// that takes longer counts as hung.
const requestTimeout = 5 * time.Second

// waitFor polls cond every 20 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// TestSidecarKilledUnderLoad SIGKILLs the launched sidecar while 8 clients
// send requests. No request may hang; every failure must be a 503 with
// Retry-After, and only while the sidecar is down; the plugin's supervisor
// must bring it back. The error count and recovery time are printed (the
// goal is back within 2 s; the test bounds it generously, since a loaded
// CI machine is not a benchmark).
func TestSidecarKilledUnderLoad(t *testing.T) {
	repo := t.TempDir()
	copyModel(t, repo, "adder", "", "1")
	s := startServe(t, bench.GatewayConfig{Sidecar: launchSidecar(t, repo)})
	var pid int
	if !waitFor(10*time.Second, func() bool { pid = s.sidecarPid(); return pid != 0 }) {
		t.Fatal("no sidecar child process found")
	}
	const path = "/v2/models/adder/infer"

	ctx, stop := context.WithCancel(t.Context())
	done := make(chan []result)
	go func() {
		done <- hammer(ctx, 8, func(ctx context.Context) result { return s.infer(ctx, path, adderBody, requestTimeout) })
	}()
	time.Sleep(time.Second)
	killAt := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Poll with a request of our own until the sidecar answers again, then
	// keep the load on a little longer so late failures would show.
	recovered := waitFor(60*time.Second, func() bool {
		return s.infer(t.Context(), path, adderBody, requestTimeout).status == http.StatusOK
	})
	time.Sleep(time.Second)
	stop()
	results := <-done
	if !recovered {
		t.Fatal("the sidecar did not serve again within 60s of the kill")
	}

	// The sidecar is back once a request sent after the kill succeeds.
	recoveredAt := time.Time{}
	for _, r := range results {
		if r.status == http.StatusOK && r.start.After(killAt) && (recoveredAt.IsZero() || r.end.Before(recoveredAt)) {
			recoveredAt = r.end
		}
	}
	if recoveredAt.IsZero() {
		t.Fatalf("no request of the load succeeded after the kill (%d requests)", len(results))
	}
	failures, ok := 0, 0
	for _, r := range results {
		if r.err != nil {
			t.Errorf("request at %v after the kill: no answer: %v", r.start.Sub(killAt), r.err)
			continue
		}
		if took := r.end.Sub(r.start); took > requestTimeout+2*time.Second {
			t.Errorf("request took %v, past its %v timeout", took, requestTimeout)
		}
		if r.status == http.StatusOK {
			ok++
			continue
		}
		failures++
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Errorf("failure %d (Retry-After %q): %s, want 503 with Retry-After", r.status, r.header.Get("Retry-After"), r.body)
		}
		if r.end.Before(killAt) || !r.start.Before(recoveredAt) {
			t.Errorf("failure outside the outage: sent %v after the kill (back at %v): %v",
				r.start.Sub(killAt), recoveredAt.Sub(killAt), r)
		}
	}
	newPid := s.sidecarPid()
	t.Logf("sidecar SIGKILLed under load: %d requests, %d ok, %d failed (all 503 + Retry-After); serving again %v after the kill (goal 2s); new pid %d",
		len(results), ok, failures, recoveredAt.Sub(killAt).Round(time.Millisecond), newPid)
	if newPid == pid || newPid == 0 {
		t.Errorf("sidecar pid after recovery %d, killed %d: want a new process", newPid, pid)
	}
	if d := recoveredAt.Sub(killAt); d > 30*time.Second {
		t.Errorf("back after %v, want well under 30s (goal 2s)", d)
	}
}
