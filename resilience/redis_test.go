package resilience

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/modelgate/modelgate/bench"
	"github.com/modelgate/modelgate/internal/testutil"
)

const redisTimeout = 100 * time.Millisecond

// remaining is the day window's X-RateLimit-Remaining-Day, or -1.
func remaining(r result) int {
	if r.header == nil {
		return -1
	}
	n, err := strconv.Atoi(r.header.Get("X-RateLimit-Remaining-Day"))
	if err != nil {
		return -1
	}
	return n
}

// TestRedisOutageUnderLoad stops Redis while 4 clients send requests and
// starts it again. With fault_tolerant the gateway keeps serving (without
// quota headers); without it, it answers 503. Either way no request waits
// much past the Redis timeout, and counting resumes once Redis is back.
func TestRedisOutageUnderLoad(t *testing.T) {
	repo := t.TempDir()
	copyModel(t, repo, "adder", "", "1")
	sidecar := launchSidecar(t, repo)
	for _, faultTolerant := range []bool{true, false} {
		t.Run(fmt.Sprintf("fault_tolerant=%v", faultTolerant), func(t *testing.T) {
			rd := testutil.StartRedis(t)
			s := startServe(t, bench.GatewayConfig{
				Sidecar: sidecar,
				Tier:    map[string]any{"name": "metered", "day": 1_000_000_000},
				Quotas: map[string]any{"policy": "redis", "fault_tolerant": faultTolerant,
					"redis": map[string]any{"addr": rd.Addr, "timeout": redisTimeout.String()}},
			})
			const path = "/v2/models/adder/infer"
			if r := s.infer(t.Context(), path, adderBody, requestTimeout); r.status != http.StatusOK || remaining(r) < 0 {
				t.Fatalf("before the outage: %v, remaining %d", r, remaining(r))
			}
			ctx, stop := context.WithCancel(t.Context())
			done := make(chan []result)
			go func() {
				done <- hammer(ctx, 4, func(ctx context.Context) result { return s.infer(ctx, path, adderBody, requestTimeout) })
			}()
			time.Sleep(500 * time.Millisecond)
			downAt := time.Now()
			rd.Stop()
			time.Sleep(1500 * time.Millisecond)
			upAt := time.Now()
			rd.Start(t)
			// Counting resumes: sequential requests get headers again, each with less left.
			var last result
			resumed := waitFor(30*time.Second, func() bool {
				last = s.infer(t.Context(), path, adderBody, requestTimeout)
				return last.status == http.StatusOK && remaining(last) >= 0
			})
			stop()
			results := <-done
			if !resumed {
				t.Fatalf("no counted answer within 30s of Redis coming back; last: %v", last)
			}
			next := s.infer(t.Context(), path, adderBody, requestTimeout)
			if next.status != http.StatusOK || remaining(next) >= remaining(last) {
				t.Errorf("counting did not resume: remaining %d then %d (%v)", remaining(last), remaining(next), next)
			}

			during, failed, slowest := 0, 0, time.Duration(0)
			for _, r := range results {
				if r.err != nil {
					t.Errorf("no answer: %v", r.err)
					continue
				}
				slowest = max(slowest, r.end.Sub(r.start))
				inOutage := r.start.After(downAt.Add(50*time.Millisecond)) && r.end.Before(upAt)
				if !inOutage {
					if r.status != http.StatusOK && r.end.Before(downAt) {
						t.Errorf("failure before the outage: %v", r)
					}
					continue
				}
				during++
				if r.status != http.StatusOK {
					failed++
				}
				switch {
				case faultTolerant && r.status != http.StatusOK:
					t.Errorf("fault tolerant, during the outage: %v, want 200", r)
				case !faultTolerant && r.status != http.StatusServiceUnavailable:
					t.Errorf("not fault tolerant, during the outage: %v, want 503", r)
				}
			}
			t.Logf("Redis down %v under load: %d requests, %d sent and answered during the outage, %d of them 503; slowest request %v (Redis timeout %v)",
				upAt.Sub(downAt).Round(time.Millisecond), len(results), during, failed, slowest.Round(time.Millisecond), redisTimeout)
			if during == 0 {
				t.Fatal("no request was answered during the outage")
			}
			if !faultTolerant && failed == 0 {
				t.Error("not fault tolerant, yet nothing was refused while Redis was down")
			}
			// Latency may not pile up: every request waits for Redis at most
			// about its timeout (a pile-up waits out dial timeouts of seconds, request
			// after request). The bound is generous for a loaded machine.
			if slowest > redisTimeout+3*time.Second {
				t.Errorf("slowest request %v with a Redis timeout of %v", slowest, redisTimeout)
			}
		})
	}
}
