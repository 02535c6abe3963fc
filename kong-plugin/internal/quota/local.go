package quota

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// localShards spreads consumers over several locks, so concurrent requests of
// different consumers rarely wait on each other.
const localShards = 64

// sweepEvery is how often a shard drops the counters of consumers whose
// windows have all ended: memory stays bounded by the consumers active
// within the longest configured window.
const sweepEvery = time.Minute

// localStore keeps counters in this process: one plugin server per Kong node,
// shared by all its nginx workers.
type localStore struct {
	seed   maphash.Seed
	shards [localShards]localShard
}

type localShard struct {
	mu        sync.Mutex
	counters  map[string]*localCounters
	lastSweep time.Time
}

// localCounters are one consumer's counters. Each window remembers which
// period its count belongs to, so a new period starts from zero without a
// timer.
type localCounters struct {
	period    [numWindows]int64
	count     [numWindows]int
	itemsDay  int64
	items     int
	slots     map[string]struct{}
	expiresAt int64 // Unix second after which every counted period has ended
}

func newLocalStore() *localStore {
	s := &localStore{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].counters = map[string]*localCounters{}
	}
	return s
}

func (s *localStore) shard(consumer string) *localShard {
	return &s.shards[maphash.String(s.seed, consumer)%localShards]
}

func (s *localStore) take(_ context.Context, r *takeRequest) (usage, error) {
	sh := s.shard(r.consumer)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.sweep(r.now)

	c := sh.counters[r.consumer]
	if c == nil {
		c = &localCounters{}
		sh.counters[r.consumer] = c
	}
	var u usage
	stop := false
	for w := range numWindows {
		if r.limits[w] <= 0 {
			continue
		}
		if start := w.start(r.now); c.period[w] != start {
			c.period[w], c.count[w] = start, 0
		}
		u.used[w] = c.count[w]
		stop = stop || u.used[w] >= r.limits[w]
	}
	dayStart := day.start(r.now)
	if r.itemsLimit > 0 {
		if c.itemsDay != dayStart {
			c.itemsDay, c.items = dayStart, 0
		}
		u.itemsUsed = c.items
		stop = stop || u.itemsUsed+r.items > r.itemsLimit
	}
	if r.concurrency > 0 {
		u.inFlight = len(c.slots)
		stop = stop || u.inFlight >= r.concurrency
	}
	if stop {
		return u, nil
	}

	u.allowed = true
	for w := range numWindows {
		if r.limits[w] > 0 {
			c.count[w]++
			c.expiresAt = max(c.expiresAt, c.period[w]+windowSeconds[w])
		}
	}
	if r.itemsLimit > 0 {
		c.items += r.items
		c.expiresAt = max(c.expiresAt, dayStart+windowSeconds[day])
	}
	if r.concurrency > 0 {
		if c.slots == nil {
			c.slots = map[string]struct{}{}
		}
		// A local slot never expires on its own: it lives and dies with the
		// process, and Release always runs in that same process.
		c.slots[r.slot] = struct{}{}
	}
	return u, nil
}

func (s *localStore) release(_ context.Context, consumer, slot string) error {
	sh := s.shard(consumer)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if c := sh.counters[consumer]; c != nil {
		delete(c.slots, slot)
	}
	return nil
}

// sweep drops consumers with no live period and no request in flight. It
// runs under the shard's lock, at most once per sweepEvery.
func (sh *localShard) sweep(now time.Time) {
	if now.Sub(sh.lastSweep) < sweepEvery {
		return
	}
	sh.lastSweep = now
	unix := now.Unix()
	for name, c := range sh.counters {
		if c.expiresAt <= unix && len(c.slots) == 0 {
			delete(sh.counters, name)
		}
	}
}

func (s *localStore) close() error { return nil }

// size is the number of consumers with counters, for tests of the sweep.
func (s *localStore) size() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.counters)
		sh.mu.Unlock()
	}
	return n
}
