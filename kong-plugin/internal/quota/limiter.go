// Package quota enforces per-consumer quotas: requests per second, minute,
// hour and day (fixed windows, as Kong's rate-limiting plugin counts them),
// requests in flight and batch items per day. Counters live in this process
// or in a memory-mapped file the node's plugin servers share (policy local,
// WithCounterFile), or in Redis (policy redis), checked and taken with one
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
	"sync/atomic"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
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
	// storeKey is the StoreKey of the config the store was built for.
	storeKey string
	// watch says how the Redis password file is followed.
	watch secret.WatchOptions
	// counterFile, if set, holds policy local's counters (WithCounterFile).
	counterFile string
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

// WithSecretWatch sets how the Redis password file is re-read when it
// changes (the interval, and the logger that reports rotations).
func WithSecretWatch(opts secret.WatchOptions) Option {
	return func(l *Limiter) { l.watch = opts }
}

// WithCounterFile keeps policy local's counters in the memory-mapped file at
// path instead of this process's memory, so that every process opening that
// file counts together (see fileStore). The plugin server under Kong uses
// one file in Kong's prefix; it has no effect with policy redis.
func WithCounterFile(path string) Option {
	return func(l *Limiter) { l.counterFile = path }
}

// New validates cfg and builds its Limiter. With policy redis it creates the
// client but does not connect: a Redis that is down at start is handled like
// one that goes down later.
func New(cfg Config, opts ...Option) (*Limiter, error) {
	l, err := newLimiter(cfg, opts)
	if err != nil {
		return nil, err
	}
	if cfg.Policy == PolicyRedis {
		s, err := newRedisStore(cfg.Redis, cfg.redisTimeout(), l.watch)
		if err != nil {
			return nil, err
		}
		l.store = s
	} else if l.counterFile != "" {
		s, err := openFileStore(l.counterFile)
		if err != nil {
			return nil, err
		}
		l.store = s
	} else {
		l.store = newLocalStore()
	}
	return l, nil
}

// Share returns a Limiter for cfg that counts in l's store, so a change of
// the tiers (or of fault_tolerant) keeps every consumer's counts: a raised
// limit applies to what was already counted. cfg.StoreKey() must equal the
// store key of the config l was built from. Closing either Limiter closes
// the store they share.
func (l *Limiter) Share(cfg Config, opts ...Option) (*Limiter, error) {
	if k := cfg.StoreKey(); k != l.storeKey {
		return nil, errors.New("quota: Share needs a config with the same policy and redis section")
	}
	s, err := newLimiter(cfg, opts)
	if err != nil {
		return nil, err
	}
	s.store = l.store
	return s, nil
}

// newLimiter validates cfg and builds its Limiter without a store.
func newLimiter(cfg Config, opts []Option) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Limiter{
		tiers:         map[string]Tier{},
		faultTolerant: cfg.FaultTolerant,
		now:           time.Now,
		slotPrefix:    newSlotPrefix(),
		storeKey:      cfg.StoreKey(),
	}
	for _, t := range cfg.Tiers {
		l.tiers[t.Name] = t
	}
	for _, o := range opts {
		o(l)
	}
	return l, nil
}

// Close releases the Redis connections. Decisions still holding slots can
// no longer release them (Redis expires them).
func (l *Limiter) Close() error { return l.store.close() }

// StoreErrors counts the store failures since New.
func (l *Limiter) StoreErrors() uint64 { return l.storeErrors.Load() }

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
