package secret

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelgate/modelgate/internal/pathbound"
	"github.com/modelgate/modelgate/kong-plugin/internal/trust"
)

// DefaultCheckInterval is how often a file secret is looked at again. A
// Kubernetes Secret update reaches a pod's files within about a minute
// (kubelet's sync period), so checking more often buys little.
const DefaultCheckInterval = 10 * time.Second

// WatchOptions configure Watch.
type WatchOptions struct {
	// CheckInterval is the least time between two looks at a file secret
	// (0: DefaultCheckInterval; negative: at every Get, for tests).
	CheckInterval time.Duration
	// Logger gets one line per rotation or failed re-read, naming the
	// reference, never the value (default slog.Default()).
	Logger *slog.Logger
	// Folders are where a file: reference may resolve to, at the first
	// read and at every re-read (default: trust.FromEnv's SecretFolders,
	// which do not know the config's own folder).
	Folders pathbound.Folders
}

// Source is a secret, parsed, that follows its file: Get returns the value
// parsed from the file as it was at the last check. An `env:` secret never
// changes. A Source is safe for concurrent use.
//
// A file is checked by polling, from Get, at most once per interval: its
// path is resolved through every symlink (kubelet updates a mounted Secret by
// swapping the ..data symlink, so the resolved path changes while the
// mounted path does not) and its content hashed. When either differs the
// file is parsed again; a file that no longer parses keeps the previous
// value and is tried again at the next check.
type Source[T any] struct {
	ref      string
	path     string // "" for env: references
	parse    func([]byte) (T, error)
	interval time.Duration
	log      *slog.Logger
	folders  pathbound.Folders

	checking sync.Mutex // held by the one Get that looks at the file
	state    atomic.Pointer[sourceState[T]]
}

type sourceState[T any] struct {
	value    T
	gen      uint64 // grows by one per rotation
	resolved string
	sum      [sha256.Size]byte
	checked  time.Time
}

// Watch resolves ref, parses it with parse and returns a Source that follows
// it. Errors are Resolve's, or parse's wrapped with the reference. parse must
// not keep the bytes it is given: they are wiped once it returns.
func Watch[T any](ref string, parse func([]byte) (T, error), opts WatchOptions) (*Source[T], error) {
	s := &Source[T]{ref: ref, parse: parse, interval: opts.CheckInterval, log: opts.Logger, folders: opts.Folders}
	if s.interval == 0 {
		s.interval = DefaultCheckInterval
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.folders == nil {
		s.folders = trust.FromEnv().SecretFolders()
	}
	if path, ok := strings.CutPrefix(ref, filePrefix); ok {
		s.path = path
	}
	value, resolved, err := resolve(ref, s.folders)
	if err != nil {
		return nil, err
	}
	st := &sourceState[T]{checked: time.Now(), sum: sha256.Sum256(value), resolved: resolved}
	st.value, err = parse(value)
	clear(value)
	if err != nil {
		return nil, fmt.Errorf("secret reference %q: %w", ref, err)
	}
	s.state.Store(st)
	return s, nil
}

// Get returns the current value, looking at the file first when the check
// interval has passed. Only one caller at a time looks; the others get the
// value as it is.
func (s *Source[T]) Get() T {
	v, _ := s.Current()
	return v
}

// Current is Get with the value's generation, which grows by one each time
// the file's new content replaces the value: a caller that derives
// something from the value rebuilds it only when the generation moves.
func (s *Source[T]) Current() (T, uint64) {
	st := s.state.Load()
	if s.path != "" && time.Since(st.checked) >= s.interval && s.checking.TryLock() {
		st = s.check()
		s.checking.Unlock()
	}
	return st.value, st.gen
}

// check looks at the file and returns the state to use. Called with
// s.checking held.
func (s *Source[T]) check() *sourceState[T] {
	old := s.state.Load()
	now := time.Now()
	value, resolved, err := resolve(s.ref, s.folders)
	if errors.Is(err, pathbound.ErrOutside) {
		// A link re-pointed out of the allowed folders after start.
		s.log.Error("secret file now leads outside the allowed folders; refused, keeping the value read before", "secret", s.ref, "error", err)
		return s.keep(old, now)
	}
	if err != nil {
		// resolve's error names the reference and the cause, never the value.
		s.log.Warn("secret file cannot be read again; keeping the value read before", "secret", s.ref, "error", err)
		return s.keep(old, now)
	}
	defer clear(value)
	sum := sha256.Sum256(value)
	if resolved == old.resolved && bytes.Equal(sum[:], old.sum[:]) {
		return s.keep(old, now)
	}
	parsed, err := s.parse(value)
	if err != nil {
		s.log.Warn("secret file changed but does not parse; keeping the value read before", "secret", s.ref, "error", err)
		return s.keep(old, now)
	}
	st := &sourceState[T]{value: parsed, gen: old.gen + 1, resolved: resolved, sum: sum, checked: now}
	s.state.Store(st)
	s.log.Info("secret rotated: file changed, new value in use", "secret", s.ref, "resolved_path", resolved)
	return st
}

func (s *Source[T]) keep(old *sourceState[T], now time.Time) *sourceState[T] {
	st := *old
	st.checked = now
	s.state.Store(&st)
	return &st
}

// Ref is the reference the Source follows, for messages.
func (s *Source[T]) Ref() string { return s.ref }
