package load

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Closed is a closed-loop run: Clients callers, each issuing its next request
// as soon as the previous one returned. It stops after Duration, or after
// Count requests in all, whichever comes first (zero means no such bound;
// one of them must be set).
type Closed struct {
	Clients  int
	Duration time.Duration
	Count    int64
	// Timeout bounds each request (0 = only the run's context).
	Timeout time.Duration
}

// Run drives fn until the run's bound is reached or ctx ends.
func (c Closed) Run(ctx context.Context, fn Func) *Result {
	clients := max(1, c.Clients)
	end := time.Now().Add(c.Duration)
	if c.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Duration)
		defer cancel()
	}
	var issued atomic.Int64
	var rec recorder
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var l local
			defer rec.merge(&l)
			for ctx.Err() == nil {
				if c.Count > 0 && issued.Add(1) > c.Count {
					return
				}
				t0 := time.Now()
				items, err := call(ctx, fn, c.Timeout)
				if err != nil && c.Duration > 0 && (ctx.Err() != nil || !time.Now().Before(end)) {
					// The run's own end cut this request short: it is not a
					// failure of the server. The clock is checked too: on a
					// loaded machine the server's copy of the deadline can
					// answer before this process's timer has cancelled ctx.
					return
				}
				l.record(items, err, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	rec.result.Elapsed = time.Since(start)
	return &rec.result
}

func call(ctx context.Context, fn Func, timeout time.Duration) (int, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return fn(ctx)
}
