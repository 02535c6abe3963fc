package load

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestClosedCountsEveryOutcome(t *testing.T) {
	var n atomic.Int64
	fn := func(ctx context.Context) (int, error) {
		switch i := n.Add(1); {
		case i%10 == 0:
			return 0, &StatusError{Status: 503}
		case i%10 == 5:
			return 0, errors.New("boom")
		default:
			return 4, nil
		}
	}
	r := Closed{Clients: 8, Count: 1000}.Run(context.Background(), fn)
	if r.Requests != 1000 || n.Load() != 1000 {
		t.Fatalf("requests %d (calls %d), want 1000", r.Requests, n.Load())
	}
	if r.Errors["http_503"] != 100 || r.Errors["error"] != 100 {
		t.Fatalf("errors %v, want 100 of each kind", r.Errors)
	}
	if r.Items != 800*4 || r.Latency.Len() != 800 || r.ErrorLatency.Len() != 200 {
		t.Fatalf("items %d, ok latencies %d, failed latencies %d", r.Items, r.Latency.Len(), r.ErrorLatency.Len())
	}
}

func TestClosedConcurrencyIsBounded(t *testing.T) {
	var cur, peak atomic.Int64
	fn := func(ctx context.Context) (int, error) {
		c := cur.Add(1)
		for {
			p := peak.Load()
			if c <= p || peak.CompareAndSwap(p, c) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		cur.Add(-1)
		return 1, nil
	}
	Closed{Clients: 3, Count: 60}.Run(context.Background(), fn)
	if peak.Load() > 3 {
		t.Fatalf("%d requests in flight with 3 clients", peak.Load())
	}
}

func TestClosedDurationEndIsNotAnError(t *testing.T) {
	fn := func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	r := Closed{Clients: 4, Duration: 20 * time.Millisecond}.Run(context.Background(), fn)
	if r.ErrorCount() != 0 {
		t.Fatalf("requests cut by the run's end counted as errors: %v", r.Errors)
	}
}

func TestClosedTimeoutIsAnError(t *testing.T) {
	fn := func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	r := Closed{Clients: 2, Count: 4, Timeout: time.Millisecond}.Run(context.Background(), fn)
	if r.Errors["timeout"] != 4 {
		t.Fatalf("errors %v, want 4 timeouts", r.Errors)
	}
}

// A server that stalls must not hide the stall: requests scheduled while it
// stalled wait, and their latency runs from when they were due. With one
// request in flight, a 200 ms stall on the first request means the one due
// at 10 ms completes no earlier than 200 ms, so its latency is at least
// 190 ms however fast or slow the machine is.
func TestOpenLatencyRunsFromSchedule(t *testing.T) {
	const stall = 200 * time.Millisecond
	var n atomic.Int64
	fn := func(ctx context.Context) (int, error) {
		if n.Add(1) == 1 {
			time.Sleep(stall)
		}
		return 1, nil
	}
	r := Open{Rate: 100, Count: 6, MaxInFlight: 1}.Run(context.Background(), fn)
	if r.Requests != 6 || r.Items != 6 {
		t.Fatalf("requests %d items %d, want 6", r.Requests, r.Items)
	}
	// Requests 1..5 were due at 10..50 ms and could start only after 200 ms:
	// every one of the 6 latencies is at least 150 ms.
	if min := r.Latency.Percentile(1); min < stall-50*time.Millisecond {
		t.Fatalf("smallest latency %v: the generator measured from send time, hiding the stall", min)
	}
}

func TestOpenRunsTheWholeSchedule(t *testing.T) {
	var n atomic.Int64
	fn := func(ctx context.Context) (int, error) { n.Add(1); return 2, nil }
	r := Open{Rate: 5000, Count: 200, Poisson: true, Seed: 1}.Run(context.Background(), fn)
	if r.Requests != 200 || n.Load() != 200 || r.Items != 400 {
		t.Fatalf("requests %d calls %d items %d", r.Requests, n.Load(), r.Items)
	}
}
