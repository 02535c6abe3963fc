// Package quota enforces per-consumer quotas: requests per second, minute,
// hour and day (fixed windows, as Kong's rate-limiting plugin counts them),
// requests in flight and batch items per day. Counters live in this process
// (policy local) or in Redis (policy redis), checked and taken with one
// atomic step per request either way.
package quota

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ErrUnavailable is returned by Take when the counter store failed and the
// config is not fault tolerant: the gateway answers 503.
var ErrUnavailable = errors.New("quota store unavailable")

// RejectMessage is the error text for a 429, in the words of Kong's
// rate-limiting plugin.
const RejectMessage = "API rate limit exceeded"

// ErrUnknownTier is returned by Take for a tier the config does not define.
var ErrUnknownTier = errors.New("unknown quota tier")

// DefaultSlotTTL is how long a concurrency slot taken in Redis outlives a
// plugin server that died before releasing it, when Take's context has no
// deadline. With a deadline the slot lives until the deadline plus
// slotGrace.
const DefaultSlotTTL = 5 * time.Minute

// slotGrace keeps a slot a little past the request deadline, so a request
// finishing right at its deadline still holds its slot.
const slotGrace = 5 * time.Second

// Limiter takes quota for requests. It holds no per-Kong-instance state and
// is safe for concurrent use: one Limiter per quotas config serves every
// plugin instance of the process.
type Limiter struct {
	tiers         map[string]Tier
	store         store
	faultTolerant bool
	onError       func(error)
	storeErrors   atomic.Uint64
	// slotPrefix (random per Limiter) and slotSeq make slot ids unique
	// across Kong nodes sharing a Redis, without a random read per request.
	slotPrefix string
	slotSeq    atomic.Uint64
	// now is the clock, replaceable in tests of window boundaries.
	now func() time.Time
}

// store checks and takes quota atomically.
type store interface {
	take(ctx context.Context, r *takeRequest) (usage, error)
	release(ctx context.Context, consumer, slot string) error
	close() error
}

// takeRequest is everything a store needs for one atomic check-and-take.
type takeRequest struct {
	consumer    string
	now         time.Time
	limits      [numWindows]int
	itemsLimit  int
	items       int
	concurrency int
	slot        string    // concurrency slot id, when concurrency > 0
	slotExpiry  time.Time // when an unreleased slot stops counting
}

// usage is what the counters held before this request, and whether the store
// took the quota (it takes all of it or none).
type usage struct {
	used      [numWindows]int
	itemsUsed int
	inFlight  int
	allowed   bool
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithErrorHook calls hook for every store failure (Redis down or slow),
// whether fault tolerance let the request through or not; the gateway counts
// them in a metric. The hook must be quick and safe for concurrent use.
func WithErrorHook(hook func(error)) Option {
	return func(l *Limiter) { l.onError = hook }
}

// New validates cfg and builds its Limiter. With policy redis it creates the
// client but does not connect: a Redis that is down at start is handled like
// one that goes down later.
func New(cfg Config, opts ...Option) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Limiter{
		tiers:         map[string]Tier{},
		faultTolerant: cfg.FaultTolerant,
		now:           time.Now,
		slotPrefix:    newSlotPrefix(),
	}
	for _, t := range cfg.Tiers {
		l.tiers[t.Name] = t
	}
	for _, o := range opts {
		o(l)
	}
	if cfg.Policy == PolicyRedis {
		s, err := newRedisStore(cfg.Redis, cfg.redisTimeout())
		if err != nil {
			return nil, err
		}
		l.store = s
	} else {
		l.store = newLocalStore()
	}
	return l, nil
}

// Close releases the Redis connections. Decisions still holding slots can
// no longer release them (Redis expires them).
func (l *Limiter) Close() error { return l.store.close() }

// StoreErrors counts the store failures since New.
func (l *Limiter) StoreErrors() uint64 { return l.storeErrors.Load() }

// Decision is the outcome of Take.
type Decision struct {
	// Allowed is false when a limit rejected the request (HTTP 429).
	Allowed bool
	// Window names the limit that rejected it: "second", "minute", "hour",
	// "day", "concurrency" or "items". Empty when allowed.
	Window string
	// RetryAfter is when to retry after a rejection (whole seconds, >= 1).
	RetryAfter time.Duration
	// Degraded is true when the store failed and fault tolerance let the
	// request through unchecked.
	Degraded bool
	// Headers are the response headers, as Kong's rate-limiting plugin sends
	// them (plus Retry-After on a rejection). Empty when Degraded. The keys
	// are spelled as Kong spells them, which is not Go's canonical form: copy
	// them with a range loop (Header.Get/Set would miss or respell them).
	Headers http.Header
	// release frees the concurrency slot; nil when no slot was taken.
	release *releaser
}

// Release frees the request's concurrency slot. Call it once the request is
// done; it is safe to call more than once, and on any Decision (it does
// nothing when no slot was taken). With Redis it waits at most the Redis
// timeout; a failed release is left to the slot's expiry.
func (d Decision) Release() {
	if d.release != nil {
		d.release.once.Do(d.release.fn)
	}
}

type releaser struct {
	once sync.Once
	fn   func()
}

// Take checks the tier's limits for one request of consumer carrying items
// batch items (0 for requests that carry none) and, when all hold, counts it.
// A rejected request counts nothing. ctx bounds the wait; its deadline (the
// request's) also bounds how long a Redis concurrency slot outlives a crash.
func (l *Limiter) Take(ctx context.Context, consumer, tier string, items int) (Decision, error) {
	t, ok := l.tiers[tier]
	if !ok {
		return Decision{}, fmt.Errorf("%w %q", ErrUnknownTier, tier)
	}
	now := l.now()
	req := &takeRequest{
		consumer:    consumer,
		now:         now,
		limits:      t.limits(),
		itemsLimit:  t.ItemsPerDay,
		items:       max(0, items),
		concurrency: t.Concurrency,
	}
	if t.Concurrency > 0 {
		req.slot = l.slotPrefix + strconv.FormatUint(l.slotSeq.Add(1), 36)
		req.slotExpiry = now.Add(DefaultSlotTTL)
		if deadline, ok := ctx.Deadline(); ok {
			req.slotExpiry = deadline.Add(slotGrace)
		}
	}
	u, err := l.store.take(ctx, req)
	if err != nil {
		l.storeErrors.Add(1)
		if l.onError != nil {
			l.onError(err)
		}
		if l.faultTolerant {
			return Decision{Allowed: true, Degraded: true, Headers: http.Header{}}, nil
		}
		return Decision{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	d := decide(t, req, u)
	if d.Allowed && req.slot != "" {
		d.release = &releaser{fn: func() { l.releaseSlot(consumer, req.slot) }}
	}
	return d, nil
}

func (l *Limiter) releaseSlot(consumer, slot string) {
	// Not the request's context: it may be done already, and the slot must
	// be freed regardless. The store bounds the wait itself.
	if err := l.store.release(context.Background(), consumer, slot); err != nil {
		l.storeErrors.Add(1)
		if l.onError != nil {
			l.onError(err)
		}
	}
}

func newSlotPrefix() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b) + ":"
}

// decide turns the counters into the Decision and Kong's headers. It follows
// Kong's rate-limiting plugin: a window stops the request when its usage
// already reached the limit; Remaining counts this request unless another
// window stopped it; RateLimit-* describe the window with the least remaining
// (the longer one on a tie), and Retry-After is that window's reset.
func decide(t Tier, req *takeRequest, u usage) Decision {
	h := http.Header{}
	d := Decision{Allowed: u.allowed, Headers: h}

	stopped := [numWindows]bool{}
	anyWindowStopped := false
	for w := range numWindows {
		if limit := req.limits[w]; limit > 0 && u.used[w] >= limit {
			stopped[w] = true
			anyWindowStopped = true
		}
	}
	itemsStopped := req.itemsLimit > 0 && u.itemsUsed+req.items > req.itemsLimit

	var (
		best      = window(-1)
		bestLeft  int
		bestReset int64
	)
	for w := range numWindows {
		limit := req.limits[w]
		if limit <= 0 {
			continue
		}
		left := limit - u.used[w]
		if u.allowed || stopped[w] {
			// This request counts, as in Kong: unless another limit
			// stopped it, in which case it was not counted here.
			left--
		}
		left = max(0, left)
		if best < 0 || left < bestLeft || left == bestLeft && w > best {
			best, bestLeft, bestReset = w, left, w.reset(req.now)
		}
		setHeader(h, "X-RateLimit-Limit-"+headerNames[w], strconv.Itoa(limit))
		setHeader(h, "X-RateLimit-Remaining-"+headerNames[w], strconv.Itoa(left))
	}
	if best >= 0 {
		setHeader(h, "RateLimit-Limit", strconv.Itoa(req.limits[best]))
		setHeader(h, "RateLimit-Remaining", strconv.Itoa(bestLeft))
		setHeader(h, "RateLimit-Reset", strconv.FormatInt(bestReset, 10))
	}
	if req.itemsLimit > 0 {
		// Kong's response-ratelimiting names custom limits this way.
		left := req.itemsLimit - u.itemsUsed
		if u.allowed {
			left -= req.items
		}
		setHeader(h, "X-RateLimit-Limit-Items-Day", strconv.Itoa(req.itemsLimit))
		setHeader(h, "X-RateLimit-Remaining-Items-Day", strconv.Itoa(max(0, left)))
	}

	if u.allowed {
		return d
	}
	// The store rejected: say which limit, and when to retry. When several
	// limits hold the request back, name the one that frees up last.
	var retry int64
	switch {
	case anyWindowStopped:
		d.Window, retry = best.String(), bestReset
		// Kong's Retry-After is the most constrained window's reset; a
		// stopped window always has 0 left, so best is a stopped one.
		if itemsStopped && day.reset(req.now) > retry {
			d.Window, retry = WindowItems, day.reset(req.now)
		}
	case itemsStopped:
		d.Window, retry = WindowItems, day.reset(req.now)
	default:
		// Only the concurrency limit is left; in-flight requests end at any
		// moment, so retry soon.
		d.Window, retry = WindowConcurrency, 1
	}
	d.RetryAfter = time.Duration(retry) * time.Second
	setHeader(h, "Retry-After", strconv.FormatInt(retry, 10))
	return d
}

// setHeader stores a header under Kong's exact spelling ("X-RateLimit-...",
// not Go's canonical "X-Ratelimit-..."), so both front-ends send what Kong's
// plugin sends. Read such keys with h[name], not h.Get.
func setHeader(h http.Header, name, value string) {
	h[name] = []string{value}
}
