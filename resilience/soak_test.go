//go:build soak

package resilience

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/bench"
	"github.com/modelgate/modelgate/bench/load"
)

// rssKiB is a process's resident set size from /proc/PID/status.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no VmRSS for pid %d", pid)
	return 0
}

// TestSoakMemory sends 100,000 requests through `modelgate serve` and its
// launched sidecar: the resident memory of both after them must be within
// 10% of what it was after warm-up. `make soak` runs it.
func TestSoakMemory(t *testing.T) {
	repo := t.TempDir()
	copyModel(t, repo, "adder", "", "1")
	s := startServe(t, bench.GatewayConfig{Sidecar: launchSidecar(t, repo)})
	var sidecar int
	if !waitFor(10*time.Second, func() bool { sidecar = s.sidecarPid(); return sidecar != 0 }) {
		t.Fatal("no sidecar child process found")
	}
	fn := func(ctx context.Context) (int, error) {
		r := s.infer(ctx, "/v2/models/adder/infer", adderBody, requestTimeout)
		if r.err != nil {
			return 0, r.err
		}
		if r.status != http.StatusOK {
			return 0, &load.StatusError{Status: r.status, Body: string(r.body)}
		}
		return 1, nil
	}
	run := func(n int64) *load.Result {
		r := load.Closed{Clients: 16, Count: n}.Run(t.Context(), fn)
		if r.ErrorCount() > 0 {
			t.Fatalf("%d of %d requests failed: %v", r.ErrorCount(), r.Requests, r.Errors)
		}
		return r
	}
	settle := func() { time.Sleep(2 * time.Second) }
	run(10_000)
	settle()
	serveWarm, sidecarWarm := rssKiB(t, s.cmd.Process.Pid), rssKiB(t, sidecar)
	r := run(100_000)
	settle()
	serveAfter, sidecarAfter := rssKiB(t, s.cmd.Process.Pid), rssKiB(t, sidecar)
	s1 := r.Summarize()
	t.Logf("100,000 requests in %.1fs (%.0f/s, p50 %.2f ms, p99 %.2f ms)", s1.ElapsedSeconds, s1.ItemsPerSecond, s1.P50Micros/1000, s1.P99Micros/1000)
	for _, m := range []struct {
		name        string
		warm, after int
	}{{"modelgate serve", serveWarm, serveAfter}, {"modelgate-sidecar", sidecarWarm, sidecarAfter}} {
		growth := float64(m.after-m.warm) / float64(m.warm)
		t.Logf("%s RSS: %d KiB after warm-up, %d KiB after 100,000 requests (%+.1f%%)", m.name, m.warm, m.after, 100*growth)
		if growth > 0.10 {
			t.Errorf("%s grew %.1f%% over 100,000 requests, want at most 10%%", m.name, 100*growth)
		}
	}
}
