package auth

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
)

type keyDigest = [sha256.Size]byte

// keyIndex maps every API key digest, inline or in a consumer's file: list,
// to its consumer in one map, so a lookup (hit or miss) is one map read
// whatever the number of key files. The map is rebuilt when a list's file
// has changed, looked at no more often than the files themselves are.
type keyIndex struct {
	inline   map[keyDigest]consumerEntry
	files    []keyFile
	interval time.Duration
	log      *slog.Logger

	refreshing sync.Mutex // held by the one lookup that looks at the files
	state      atomic.Pointer[keyIndexState]
}

type keyIndexState struct {
	byDigest map[keyDigest]consumerEntry
	gens     []uint64 // each file's generation the map was built from
	checked  time.Time
}

// newKeyIndex builds the index; a digest listed for two consumers is an
// error naming both (a key must say who is calling).
func newKeyIndex(inline map[keyDigest]consumerEntry, files []keyFile, watch secret.WatchOptions) (*keyIndex, error) {
	x := &keyIndex{inline: inline, files: files, interval: watch.CheckInterval, log: watch.Logger}
	if x.interval == 0 {
		x.interval = secret.DefaultCheckInterval
	}
	if x.log == nil {
		x.log = slog.Default()
	}
	st, conflicts := x.build()
	if len(conflicts) > 0 {
		return nil, fmt.Errorf("auth.consumers: %s", conflicts[0])
	}
	x.state.Store(st)
	return x, nil
}

// lookup finds the consumer of a key digest.
func (x *keyIndex) lookup(d keyDigest) (consumerEntry, bool) {
	st := x.state.Load()
	if len(x.files) > 0 && time.Since(st.checked) >= x.interval && x.refreshing.TryLock() {
		st = x.refresh(st)
		x.refreshing.Unlock()
	}
	e, ok := st.byDigest[d]
	return e, ok
}

// empty reports whether no consumer has an API key configured.
func (x *keyIndex) empty() bool { return len(x.inline) == 0 && len(x.files) == 0 }

// refresh looks at every file (secret.Source re-reads a changed one) and
// rebuilds the map when one has a new generation. A digest that a changed
// file now shares with another consumer serves neither, logged: which of
// the two a key means cannot be told, and keeping the old map would keep
// keys the change revoked. Called with x.refreshing held.
func (x *keyIndex) refresh(old *keyIndexState) *keyIndexState {
	changed := false
	for i, f := range x.files {
		if _, gen := f.digests.Current(); gen != old.gens[i] {
			changed = true
		}
	}
	if !changed {
		st := *old
		st.checked = time.Now()
		x.state.Store(&st)
		return &st
	}
	st, conflicts := x.build()
	for _, c := range conflicts {
		x.log.Error("API key digest files changed: a digest is listed for two consumers; it serves neither", "conflict", c)
	}
	x.state.Store(st)
	return st
}

// build merges the inline digests and the files' current ones. Conflicts
// name the two consumers (and the file), never the digest's key.
func (x *keyIndex) build() (*keyIndexState, []string) {
	st := &keyIndexState{byDigest: make(map[keyDigest]consumerEntry, len(x.inline)), gens: make([]uint64, len(x.files)), checked: time.Now()}
	source := map[keyDigest]string{}
	var conflicts []string
	refused := map[keyDigest]bool{}
	add := func(d keyDigest, e consumerEntry, from string) {
		if prev, ok := st.byDigest[d]; ok && prev.name != e.name || refused[d] {
			if !refused[d] {
				conflicts = append(conflicts, fmt.Sprintf("a key digest is listed for both consumer %q (%s) and consumer %q (%s)", prev.name, source[d], e.name, from))
			}
			refused[d] = true
			delete(st.byDigest, d)
			return
		}
		st.byDigest[d], source[d] = e, from
	}
	for d, e := range x.inline {
		add(d, e, "key_sha256")
	}
	for i, f := range x.files {
		digests, gen := f.digests.Current()
		st.gens[i] = gen
		for d := range digests {
			add(d, f.entry, f.digests.Ref())
		}
	}
	return st, conflicts
}
