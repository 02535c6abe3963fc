package load

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Open is an open-loop run: requests are scheduled at Rate per second, fixed
// interval or Poisson arrivals, whatever the server does. Each latency runs
// from the request's scheduled time, not from when a goroutine got to send
// it, so a server stall shows up in the latencies of everything scheduled
// during it. The run ends after Duration or Count requests (one must be set).
type Open struct {
	Rate     float64
	Poisson  bool
	Duration time.Duration
	Count    int64
	// MaxInFlight bounds concurrent requests (default 1024): beyond it the
	// scheduler waits, and the wait counts in the latency.
	MaxInFlight int
	// Timeout bounds each request, from when it is sent.
	Timeout time.Duration
	// Seed makes the Poisson schedule reproducible.
	Seed uint64
}

// Schedule returns the offsets from the run's start at which requests are
// due, for at most n requests and at most the duration d (0 = no bound).
func (o Open) Schedule(n int64, d time.Duration) []time.Duration {
	if o.Rate <= 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x6d6f64656c676174))
	mean := float64(time.Second) / o.Rate
	if n <= 0 && d <= 0 {
		return nil
	}
	var out []time.Duration
	var at float64
	for n <= 0 || int64(len(out)) < n {
		if d > 0 && time.Duration(at) >= d {
			break
		}
		out = append(out, time.Duration(at))
		if o.Poisson {
			at += rng.ExpFloat64() * mean
		} else {
			at += mean
		}
	}
	return out
}

// Run drives fn on the schedule until it is done or ctx ends.
func (o Open) Run(ctx context.Context, fn Func) *Result {
	schedule := o.Schedule(o.Count, o.Duration)
	inFlight := o.MaxInFlight
	if inFlight <= 0 {
		inFlight = 1024
	}
	slots := make(chan struct{}, inFlight)
	var rec recorder
	var wg sync.WaitGroup
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
loop:
	for _, offset := range schedule {
		due := start.Add(offset)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				break loop
			case <-timer.C:
			}
		}
		select {
		case <-ctx.Done():
			break loop
		case slots <- struct{}{}:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			items, err := call(ctx, fn, o.Timeout)
			var l local
			l.record(items, err, time.Since(due))
			rec.merge(&l)
		}()
	}
	wg.Wait()
	rec.result.Elapsed = time.Since(start)
	return &rec.result
}
