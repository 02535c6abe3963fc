package quota

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modelgate/modelgate/internal/testutil"
)

const testRedisTimeout = 300 * time.Millisecond

func redisConfig(addr string, faultTolerant bool, ts ...Tier) Config {
	return Config{Policy: PolicyRedis, FaultTolerant: faultTolerant,
		Redis: Redis{Addr: addr, Timeout: testRedisTimeout.String()}, Tiers: ts}
}

// Two Limiters on one Redis are two Kong nodes: they share the counts.
func TestRedisSharedAcrossNodes(t *testing.T) {
	r := testutil.StartRedis(t)
	cfg := redisConfig(r.Addr, false, Tier{Name: "t", Minute: 3, Concurrency: 1})
	node1, _ := newTestLimiter(t, cfg)
	node2, _ := newTestLimiter(t, cfg)

	d1 := take(t, node1, "alice", "t", 0)
	if !d1.Allowed {
		t.Fatalf("node1: %+v", d1)
	}
	// alice's one concurrency slot is held on node1.
	if d := take(t, node2, "alice", "t", 0); d.Allowed || d.Window != WindowConcurrency {
		t.Fatalf("node2 while node1 holds the slot: %+v", d)
	}
	d1.Release()
	d2 := take(t, node2, "alice", "t", 0)
	if !d2.Allowed || hdr(d2.Headers, "X-RateLimit-Remaining-Minute") != "1" {
		t.Fatalf("node2 after release: %+v", d2)
	}
	d2.Release()
	take(t, node1, "alice", "t", 0).Release()
	if d := take(t, node2, "alice", "t", 0); d.Allowed || d.Window != "minute" {
		t.Fatalf("fourth request across nodes: %+v", d)
	}
}

// A plugin server that dies holding a slot does not leak it: the slot
// expires after the request's deadline (plus grace), and the set expires.
func TestRedisSlotExpires(t *testing.T) {
	r := testutil.StartRedis(t)
	l, c := newTestLimiter(t, redisConfig(r.Addr, false, Tier{Name: "t", Concurrency: 1}))
	// The slot's expiry comes from the context's (real) deadline: run the
	// limiter's clock from the real time too.
	c.now = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if d, err := l.Take(ctx, "alice", "t", 0); err != nil || !d.Allowed {
		t.Fatalf("take: %+v %v", d, err)
	} // never released: the "crash"

	rc := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rc.Close()
	key := keyPrefix("alice") + "slots"
	if ttl, err := rc.PTTL(context.Background(), key).Result(); err != nil || ttl <= 0 {
		t.Fatalf("slot set TTL = %v, %v; want a positive TTL", ttl, err)
	}

	if d := take(t, l, "alice", "t", 0); d.Allowed {
		t.Fatalf("slot free while held: %+v", d)
	}
	c.Add(11*time.Second + slotGrace)
	d := take(t, l, "alice", "t", 0)
	if !d.Allowed {
		t.Fatalf("expired slot still counted: %+v", d)
	}
	d.Release()
}

// All of a consumer's keys carry one hash tag (one Redis Cluster slot),
// whatever characters its name holds.
func TestRedisKeysShareHashTag(t *testing.T) {
	r := testutil.StartRedis(t)
	l, _ := newTestLimiter(t, redisConfig(r.Addr, false,
		Tier{Name: "t", Second: 9, Minute: 9, Hour: 9, Day: 9, Concurrency: 9, ItemsPerDay: 9}))
	const weird = "a}b:{c%d"
	take(t, l, weird, "t", 1) // slot kept, so the slot set exists
	rc := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rc.Close()
	keys, err := rc.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 6 {
		t.Fatalf("keys = %q, want 6", keys)
	}
	const tag = "{modelgate:a%7Db%3A%7Bc%25d}:"
	for _, k := range keys {
		if !strings.HasPrefix(k, tag) || strings.Count(k, "{") != 1 || strings.Count(k, "}") != 1 {
			t.Errorf("key %q does not start with the single hash tag %q", k, tag)
		}
	}
}

func TestRedisDownFaultTolerant(t *testing.T) {
	r := testutil.StartRedis(t)
	var hooked atomic.Int64
	l, _ := newTestLimiter(t, redisConfig(r.Addr, true, Tier{Name: "t", Minute: 100, Concurrency: 5}),
		WithErrorHook(func(error) { hooked.Add(1) }))
	held := take(t, l, "alice", "t", 0)
	if !held.Allowed || held.Degraded {
		t.Fatalf("with Redis up: %+v", held)
	}

	r.Stop()
	for i := range 5 {
		start := time.Now()
		d := take(t, l, "alice", "t", 0)
		if !d.Allowed || !d.Degraded || len(d.Headers) != 0 {
			t.Fatalf("take %d with Redis down: %+v", i, d)
		}
		d.Release()
		checkBounded(t, start)
	}
	held.Release() // fails quietly (counted); the slot would expire anyway
	if l.StoreErrors() < 6 || hooked.Load() != int64(l.StoreErrors()) {
		t.Fatalf("store errors %d, hook calls %d; want at least 6, equal", l.StoreErrors(), hooked.Load())
	}

	// Back up (empty: no persistence): counting resumes. The limiter runs on
	// newTestLimiter's fixed clock, so both takes fall in one minute window
	// whatever the wall clock does (the keys' TTLs are relative).
	r.Start(t)
	d := eventually(t, l, "alice", "t")
	if hdr(d.Headers, "X-RateLimit-Remaining-Minute") != "99" {
		t.Fatalf("first count after restart: %+v", d)
	}
	d.Release()
	if d := take(t, l, "alice", "t", 0); hdr(d.Headers, "X-RateLimit-Remaining-Minute") != "98" {
		t.Fatalf("second count after restart: %+v", d)
	}
}

func TestRedisDownNotFaultTolerant(t *testing.T) {
	r := testutil.StartRedis(t)
	l, _ := newTestLimiter(t, redisConfig(r.Addr, false, Tier{Name: "t", Minute: 100}))
	take(t, l, "alice", "t", 0)
	r.Stop()
	for range 5 {
		start := time.Now()
		d, err := l.Take(context.Background(), "alice", "t", 0)
		if !errors.Is(err, ErrUnavailable) || d.Allowed {
			t.Fatalf("with Redis down: %+v, %v; want ErrUnavailable", d, err)
		}
		checkBounded(t, start)
	}
	r.Start(t)
	d := eventually(t, l, "alice", "t")
	if hdr(d.Headers, "X-RateLimit-Remaining-Minute") != "99" {
		t.Fatalf("after restart: %+v", d)
	}
}

// A Redis that accepts connections but never answers (stalled, overloaded)
// costs each request at most the timeout, concurrent requests included.
func TestRedisStalled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); ln.Close(); conns.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() { defer conns.Done(); <-stop; c.Close() }()
		}
	}()

	for _, tolerant := range []bool{true, false} {
		l, _ := newTestLimiter(t, redisConfig(ln.Addr().String(), tolerant, Tier{Name: "t", Minute: 10}))
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				d, err := l.Take(context.Background(), "alice", "t", 0)
				if tolerant && (err != nil || !d.Allowed || !d.Degraded) {
					t.Errorf("tolerant: %+v, %v", d, err)
				}
				if !tolerant && !errors.Is(err, ErrUnavailable) {
					t.Errorf("not tolerant: %+v, %v", d, err)
				}
				checkBounded(t, start)
			}()
		}
		wg.Wait()
	}
}

// checkBounded fails when a call took far longer than the Redis timeout:
// the bound is loose (it only catches a pile-up, never measures speed).
func checkBounded(t *testing.T, start time.Time) {
	t.Helper()
	if took := time.Since(start); took > testRedisTimeout+2*time.Second {
		t.Errorf("a call with Redis unavailable took %s; timeout is %s", took, testRedisTimeout)
	}
}

// eventually takes until Redis answers again (go-redis may fail fast for a
// moment after repeated dial errors, until its background dial succeeds).
func eventually(t *testing.T, l *Limiter, consumer, tier string) Decision {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, err := l.Take(context.Background(), consumer, tier, 0)
		if err == nil && !d.Degraded {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis did not come back: %+v, %v", d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
