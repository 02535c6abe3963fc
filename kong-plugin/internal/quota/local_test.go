package quota

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable time source for window tests: no test waits for a
// window to pass.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// t0 is 12:00:30 UTC: 30 s into its minute, 12 h into its day.
var t0 = time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)

func newTestLimiter(t *testing.T, cfg Config, opts ...Option) (*Limiter, *clock) {
	t.Helper()
	l, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	c := &clock{now: t0}
	l.now = c.Now
	return l, c
}

func take(t *testing.T, l *Limiter, consumer, tier string, items int) Decision {
	t.Helper()
	d, err := l.Take(context.Background(), consumer, tier, items)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// hdr reads a header by its exact spelling.
func hdr(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// wantHeaders checks the listed headers and that no other header is set.
func wantHeaders(t *testing.T, h http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := h[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	for k := range h {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected header %s: %q", k, h[k])
		}
	}
}

func tiers(ts ...Tier) Config { return Config{Policy: PolicyLocal, Tiers: ts} }

func TestWindowsAndHeaders(t *testing.T) {
	for _, policy := range policies(t) {
		t.Run(policy.name, func(t *testing.T) {
			cfg := policy.cfg(Tier{Name: "free", Second: 2, Minute: 5})
			l, c := newTestLimiter(t, cfg, policy.opts...)

			d := take(t, l, "alice", "free", 1)
			if !d.Allowed || d.Window != "" || d.RetryAfter != 0 {
				t.Fatalf("first request: %+v", d)
			}
			// The second window has the least left: RateLimit-* describe it.
			wantHeaders(t, d.Headers, map[string]string{
				"X-RateLimit-Limit-Second": "2", "X-RateLimit-Remaining-Second": "1",
				"X-RateLimit-Limit-Minute": "5", "X-RateLimit-Remaining-Minute": "4",
				"RateLimit-Limit": "2", "RateLimit-Remaining": "1", "RateLimit-Reset": "1",
			})
			take(t, l, "alice", "free", 1)

			// Third in the same second: rejected by the second window. As in
			// Kong, the minute's remaining is not charged for a request
			// another window stopped.
			d = take(t, l, "alice", "free", 1)
			if d.Allowed || d.Window != "second" || d.RetryAfter != time.Second {
				t.Fatalf("third request: %+v", d)
			}
			wantHeaders(t, d.Headers, map[string]string{
				"X-RateLimit-Limit-Second": "2", "X-RateLimit-Remaining-Second": "0",
				"X-RateLimit-Limit-Minute": "5", "X-RateLimit-Remaining-Minute": "3",
				"RateLimit-Limit": "2", "RateLimit-Remaining": "0", "RateLimit-Reset": "1",
				"Retry-After": "1",
			})

			// Another consumer has its own counters.
			if d := take(t, l, "bob", "free", 1); !d.Allowed {
				t.Fatalf("bob: %+v", d)
			}

			// Next second: allowed again; the rejected request was not counted.
			c.Add(time.Second)
			d = take(t, l, "alice", "free", 1)
			if !d.Allowed || hdr(d.Headers, "X-RateLimit-Remaining-Minute") != "2" {
				t.Fatalf("after a second: %+v", d)
			}
			c.Add(time.Second)
			take(t, l, "alice", "free", 1)
			d = take(t, l, "alice", "free", 1)
			// Minute exhausted (5 taken) at 12:00:32: both windows at 0
			// left, the longer one is reported; retry when the minute ends.
			if !d.Allowed {
				t.Fatalf("fifth request: %+v", d)
			}
			wantHeaders(t, d.Headers, map[string]string{
				"X-RateLimit-Limit-Second": "2", "X-RateLimit-Remaining-Second": "0",
				"X-RateLimit-Limit-Minute": "5", "X-RateLimit-Remaining-Minute": "0",
				"RateLimit-Limit": "5", "RateLimit-Remaining": "0", "RateLimit-Reset": "28",
			})
			c.Add(time.Second)
			d = take(t, l, "alice", "free", 1)
			if d.Allowed || d.Window != "minute" || d.RetryAfter != 27*time.Second || hdr(d.Headers, "Retry-After") != "27" {
				t.Fatalf("sixth request: %+v", d)
			}
			// The minute window is aligned to the minute's start.
			c.Add(27 * time.Second)
			if d := take(t, l, "alice", "free", 1); !d.Allowed || hdr(d.Headers, "X-RateLimit-Remaining-Minute") != "4" {
				t.Fatalf("next minute: %+v", d)
			}
		})
	}
}

func TestLongerWindowWinsTies(t *testing.T) {
	for _, policy := range policies(t) {
		t.Run(policy.name, func(t *testing.T) {
			l, _ := newTestLimiter(t, policy.cfg(Tier{Name: "t", Hour: 10, Day: 10}), policy.opts...)
			d := take(t, l, "a", "t", 0)
			wantHeaders(t, d.Headers, map[string]string{
				"X-RateLimit-Limit-Hour": "10", "X-RateLimit-Remaining-Hour": "9",
				"X-RateLimit-Limit-Day": "10", "X-RateLimit-Remaining-Day": "9",
				"RateLimit-Limit": "10", "RateLimit-Remaining": "9", "RateLimit-Reset": "43170",
			})
		})
	}
}

func TestItemsPerDay(t *testing.T) {
	for _, policy := range policies(t) {
		t.Run(policy.name, func(t *testing.T) {
			l, c := newTestLimiter(t, policy.cfg(Tier{Name: "t", ItemsPerDay: 10}), policy.opts...)
			d := take(t, l, "a", "t", 6)
			if !d.Allowed {
				t.Fatalf("6 items: %+v", d)
			}
			wantHeaders(t, d.Headers, map[string]string{"X-RateLimit-Limit-Items-Day": "10", "X-RateLimit-Remaining-Items-Day": "4"})
			d = take(t, l, "a", "t", 5)
			if d.Allowed || d.Window != WindowItems || hdr(d.Headers, "Retry-After") != "43170" {
				t.Fatalf("5 more items: %+v", d)
			}
			wantHeaders(t, d.Headers, map[string]string{"X-RateLimit-Limit-Items-Day": "10", "X-RateLimit-Remaining-Items-Day": "4", "Retry-After": "43170"})
			if d := take(t, l, "a", "t", 4); !d.Allowed || hdr(d.Headers, "X-RateLimit-Remaining-Items-Day") != "0" {
				t.Fatalf("4 more items: %+v", d)
			}
			// A request without items still passes an exhausted item budget.
			if d := take(t, l, "a", "t", 0); !d.Allowed {
				t.Fatalf("no items: %+v", d)
			}
			// The budget renews at midnight UTC.
			c.Add(12 * time.Hour)
			if d := take(t, l, "a", "t", 10); !d.Allowed {
				t.Fatalf("next day: %+v", d)
			}
		})
	}
}

// When a window and the item budget both hold a request back, Retry-After
// is the later of the two.
func TestRejectionNamesTheLongestWait(t *testing.T) {
	for _, policy := range policies(t) {
		t.Run(policy.name, func(t *testing.T) {
			l, _ := newTestLimiter(t, policy.cfg(Tier{Name: "t", Second: 1, ItemsPerDay: 1}), policy.opts...)
			take(t, l, "a", "t", 1)
			d := take(t, l, "a", "t", 1)
			if d.Allowed || d.Window != WindowItems || d.RetryAfter != 43170*time.Second {
				t.Fatalf("%+v", d)
			}
		})
	}
}

func TestConcurrency(t *testing.T) {
	for _, policy := range policies(t) {
		t.Run(policy.name, func(t *testing.T) {
			l, _ := newTestLimiter(t, policy.cfg(Tier{Name: "t", Concurrency: 2, Minute: 100}), policy.opts...)
			a := take(t, l, "a", "t", 1)
			b := take(t, l, "a", "t", 1)
			if !a.Allowed || !b.Allowed {
				t.Fatalf("first two: %+v %+v", a, b)
			}
			d := take(t, l, "a", "t", 1)
			if d.Allowed || d.Window != WindowConcurrency || d.RetryAfter != time.Second || hdr(d.Headers, "Retry-After") != "1" {
				t.Fatalf("third in flight: %+v", d)
			}
			d.Release() // a rejected decision holds nothing
			// The rejected request was not counted in the minute.
			if got := hdr(d.Headers, "X-RateLimit-Remaining-Minute"); got != "98" {
				t.Fatalf("minute remaining after a concurrency reject = %s, want 98", got)
			}
			a.Release()
			a.Release() // twice is harmless: it must not free b's slot
			c := take(t, l, "a", "t", 1)
			if !c.Allowed {
				t.Fatalf("after a release: %+v", c)
			}
			if d := take(t, l, "a", "t", 1); d.Allowed {
				t.Fatalf("double release freed two slots: %+v", d)
			}
			b.Release()
			c.Release()
			(Decision{}).Release()
		})
	}
}

func TestUnknownTier(t *testing.T) {
	l, _ := newTestLimiter(t, tiers(Tier{Name: "t"}))
	if _, err := l.Take(context.Background(), "a", "gold", 1); !errors.Is(err, ErrUnknownTier) {
		t.Fatalf("err = %v, want ErrUnknownTier", err)
	}
}

func TestNoLimitsNoHeaders(t *testing.T) {
	l, _ := newTestLimiter(t, tiers(Tier{Name: "t"}))
	d := take(t, l, "a", "t", 100)
	if !d.Allowed || len(d.Headers) != 0 {
		t.Fatalf("%+v", d)
	}
	d.Release()
}

// Concurrent takes never hand out more than the limit.
func TestLocalExactUnderConcurrency(t *testing.T) {
	for _, policy := range policies(t) {
		t.Run(policy.name, func(t *testing.T) {
			l, _ := newTestLimiter(t, policy.cfg(Tier{Name: "t", Minute: 100, ItemsPerDay: 150}), policy.opts...)
			var allowed, items atomic.Int64
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 30 {
						d, err := l.Take(context.Background(), "shared", "t", 1+g%2)
						if err != nil {
							t.Error(err)
							return
						}
						if d.Allowed {
							allowed.Add(1)
							items.Add(int64(1 + g%2))
						}
					}
				}()
			}
			wg.Wait()
			if allowed.Load() > 100 || items.Load() > 150 {
				t.Fatalf("allowed %d requests, %d items; limits 100 and 150", allowed.Load(), items.Load())
			}
			if allowed.Load() < 75 {
				t.Fatalf("only %d requests allowed", allowed.Load())
			}
		})
	}
}

func TestLocalMemoryIsBounded(t *testing.T) {
	l, c := newTestLimiter(t, tiers(Tier{Name: "t", Minute: 10, Concurrency: 1}))
	var held Decision
	for i := range 1000 {
		d := take(t, l, fmt.Sprintf("c%d", i), "t", 0)
		if i == 0 {
			held = d // still in flight: must survive the sweep
			continue
		}
		d.Release()
	}
	store := l.store.(*localStore)
	if n := store.size(); n != 1000 {
		t.Fatalf("%d consumers tracked, want 1000", n)
	}
	c.Add(2 * time.Minute)
	// The first take on each shard after a minute sweeps it: take with new
	// names until every shard has seen one.
	swept := map[*localShard]bool{}
	late := 0
	for ; len(swept) < localShards; late++ {
		name := fmt.Sprintf("late%d", late)
		swept[store.shard(name)] = true
		take(t, l, name, "t", 0).Release()
	}
	if n := store.size(); n != late+1 {
		t.Fatalf("%d consumers tracked after their windows ended, want %d (the new ones and c0)", n, late+1)
	}
	if d := take(t, l, "c0", "t", 0); d.Allowed {
		t.Fatal("the in-flight slot of c0 was swept")
	}
	held.Release()
}
