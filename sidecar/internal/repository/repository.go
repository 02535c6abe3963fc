// Package repository serves a Triton-style model repository: it scans the
// models folder, loads the versions each model's version policy wants
// (checked, warmed up, then published), reloads them when their files
// change, and drains a version's in-flight requests before freeing it.
package repository

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/modelgate/modelgate/sidecar/internal/config"
	"github.com/modelgate/modelgate/sidecar/internal/metrics"
)

// Version states, in Triton's words.
const (
	StateUnavailable = "UNAVAILABLE"
	StateLoading     = "LOADING"
	StateReady       = "READY"
	StateUnloading   = "UNLOADING"
	StateFailed      = "FAILED"
)

// Errors Acquire, Load and Unload wrap; the server maps them to gRPC codes.
var (
	// ErrNotFound: no such model or version in the repository.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the model or version exists but does not serve now.
	ErrUnavailable = errors.New("unavailable")
	// ErrLoadFailed: a version could not be loaded.
	ErrLoadFailed = errors.New("load failed")
)

// Options configure a Repository.
type Options struct {
	// Dir is the models folder.
	Dir string
	// IntraOpThreads is used where a config leaves intra_op_threads at 0;
	// 0 = ONNX Runtime's default.
	IntraOpThreads int
	// NoSpinning turns ONNX Runtime's intra-op spinning off where a config
	// does not set instance_group.allow_spinning.
	NoSpinning bool
	// Instances is the number of sessions per version on the CPU where a
	// config sets no instance_group.count; 0 = 1. A version on a GPU gets
	// one session per device id instead.
	Instances int
	// MaxElements is the sidecar's --max-elements: it also caps one padded
	// input of a merged batch (0: the batcher's default).
	MaxElements int64
	// DrainTimeout bounds how long an unload waits for in-flight requests
	// (default 1 minute); then the version is closed anyway.
	DrainTimeout time.Duration
	// RequireBoundModels refuses encrypted models that do not bind their
	// model name and version (format 1, modelfile.ErrUnbound).
	RequireBoundModels bool
	// Origins, if set, knows the versions a registry syncer put into Dir.
	Origins Origins
	// KeyDirs are the folders, besides a model's own, where its config's
	// encryption.key_file may lie (--key-dirs).
	KeyDirs []string
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// Origins tells the repository about the versions a registry syncer pulled
// into its folder.
type Origins interface {
	// Origin is the registry manifest digest the files of a version were
	// pulled by; ok is false for a version put into the folder otherwise.
	Origin(model string, version int64) (digest string, ok bool)
	// Withdrawn reports a pulled version the registry no longer offers: the
	// repository unloads it as if its folder were gone (its folder stays
	// until Holds says it is unloaded, then the syncer removes it).
	Withdrawn(model string, version int64) bool
}

// Version sources in the index.
const (
	SourceLocal    = "local"
	SourceRegistry = "registry"
)

// Repository is the set of models and their versions. It is safe for
// concurrent use; loads and unloads are serialized.
type Repository struct {
	opts Options
	log  *slog.Logger

	// ops serializes scans, loads and unloads (which are slow); mu guards
	// the maps and states for the request path, and is held only briefly.
	ops    sync.Mutex
	mu     sync.RWMutex
	models map[string]*model
	closed bool
	// skipped are folders with names not served, warned about once; guarded by ops.
	skipped map[string]bool
}

// model is one model folder's state.
type model struct {
	name string
	dir  string
	// cfgErr is why config.yaml could not be used (nil when it could).
	cfgErr error
	// cfgDigest identifies the config (and vocabulary) last seen, so a change
	// reloads every version.
	cfgDigest string
	// wanted are the versions the policy (plus explicit loads) asks for;
	// missing are those it names that have no folder.
	wanted  []int64
	missing []string
	// unloaded is set by UnloadModel without a version: the poll leaves the
	// model alone until LoadModel.
	unloaded bool
	// pinned versions were loaded by LoadModel outside the policy; excluded
	// ones were unloaded by UnloadModel.
	pinned, excluded map[int64]bool
	versions         map[int64]*version
}

// version is one version folder's state.
type version struct {
	number int64
	state  string
	reason string
	// fingerprint identifies the files of the last load attempt (config and
	// model checksum), successful or not: a failed load is retried only when
	// they change, or on an explicit LoadModel.
	fingerprint string
	// serving is the instance answering requests (nil when none); it may be
	// set while state is READY with a reason, after a failed reload.
	serving *Served
	// origin is where serving's files came from.
	origin origin
}

// origin is where a loaded version's files came from: Source* and a digest
// ("sha256:HEX").
type origin struct {
	source, digest string
}

// New returns an empty repository over opts.Dir; call Poll to load it.
func New(opts Options) *Repository {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = time.Minute
	}
	if opts.Metrics == nil {
		panic("repository: Options.Metrics is required")
	}
	return &Repository{opts: opts, log: opts.Logger, models: map[string]*model{}, skipped: map[string]bool{}}
}

// Dir is the models folder.
func (r *Repository) Dir() string { return r.opts.Dir }

// Acquire returns the version to serve a request: the named one, or the
// latest ready one when version is empty. Call release when the request is
// done; until then the version is not freed.
func (r *Repository) Acquire(name, version string) (s *Served, release func(), err error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return nil, nil, fmt.Errorf("%w: the sidecar is shutting down", ErrUnavailable)
	}
	m, ok := r.models[name]
	if !ok {
		return nil, nil, fmt.Errorf("%w: model %q is not in the repository", ErrNotFound, name)
	}
	if version == "" {
		nums := sortedVersions(m)
		for i := len(nums) - 1; i >= 0; i-- {
			if v := m.versions[nums[i]]; v.serving != nil {
				s = v.serving
				break
			}
		}
		if s == nil {
			return nil, nil, fmt.Errorf("%w: model %q has no ready version", ErrUnavailable, name)
		}
	} else {
		n, err := strconv.ParseInt(version, 10, 64)
		v, ok := m.versions[n]
		if err != nil || !ok {
			return nil, nil, fmt.Errorf("%w: model %q has no version %q", ErrNotFound, name, version)
		}
		if v.serving == nil {
			reason := v.state
			if v.reason != "" {
				reason += ": " + v.reason
			}
			return nil, nil, fmt.Errorf("%w: model %q version %s is not ready (%s)", ErrUnavailable, name, version, reason)
		}
		s = v.serving
	}
	s.inflight.Add(1)
	return s, s.inflight.Done, nil
}

// Entry is one row of the repository index. Digest and Source describe the
// instance serving (empty when none): Source is SourceRegistry with the OCI
// manifest digest the version was pulled by, or SourceLocal with the sha256
// of its model file (the one its .sha256 file states).
type Entry struct {
	Model, Version, State, Reason string
	Digest, Source                string
}

// Index lists every model version with its state, sorted by model and version.
// A model whose config cannot be used appears once with an empty version.
func (r *Repository) Index() []Entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []Entry
	for _, name := range sortedModels(r.models) {
		m := r.models[name]
		if m.cfgErr != nil && len(m.versions) == 0 {
			out = append(out, Entry{Model: name, State: StateUnavailable, Reason: m.cfgErr.Error()})
		}
		for _, n := range sortedVersions(m) {
			v := m.versions[n]
			e := Entry{Model: name, Version: strconv.FormatInt(n, 10), State: v.state, Reason: v.reason}
			if v.serving != nil {
				e.Source, e.Digest = v.origin.source, v.origin.digest
			}
			out = append(out, e)
		}
		for _, miss := range m.missing {
			out = append(out, Entry{Model: name, Version: miss, State: StateUnavailable, Reason: "the version policy names it but its folder is missing"})
		}
	}
	return out
}

// ReadyVersions returns the ready versions of a model, oldest first.
func (r *Repository) ReadyVersions(name string) ([]string, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	m, ok := r.models[name]
	if !ok {
		return nil, fmt.Errorf("%w: model %q is not in the repository", ErrNotFound, name)
	}
	return readyVersions(m), nil
}

// Holds reports whether a version of a model is loaded, loading or
// unloading: whether its sessions may still run or its files be read.
func (r *Repository) Holds(name string, version int64) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	m, ok := r.models[name]
	if !ok {
		return false
	}
	v, ok := m.versions[version]
	return ok && (v.serving != nil || v.state == StateLoading || v.state == StateUnloading)
}

func readyVersions(m *model) []string {
	var out []string
	for _, n := range sortedVersions(m) {
		if m.versions[n].serving != nil {
			out = append(out, strconv.FormatInt(n, 10))
		}
	}
	return out
}

// Ready reports whether every version each model's policy wants is loaded
// (models unloaded by request excepted).
func (r *Repository) Ready() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return false
	}
	for _, m := range r.models {
		if m.unloaded {
			continue
		}
		if m.cfgErr != nil || len(m.missing) > 0 || len(m.wanted) == 0 {
			return false
		}
		for _, n := range m.wanted {
			if v := m.versions[n]; v == nil || v.serving == nil {
				return false
			}
		}
	}
	return true
}

// Close stops every version: new requests are refused, in-flight ones
// finish (bounded by ctx), then sessions are freed.
func (r *Repository) Close(ctx context.Context) error {
	r.ops.Lock()
	defer r.ops.Unlock()
	r.mu.Lock()
	r.closed = true
	var all []*Served
	for _, m := range r.models {
		for _, v := range m.versions {
			if v.serving != nil {
				all = append(all, v.serving)
				v.serving, v.state = nil, StateUnavailable
			}
		}
	}
	r.mu.Unlock()
	var errs []error
	for _, s := range all {
		if err := r.retire(ctx, s, false); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// retire drains a version that is no longer reachable and frees it. forget
// drops its metric series: only when the version goes away, not when a
// reload replaced it (the new instance shares the series).
func (r *Repository) retire(ctx context.Context, s *Served, forget bool) error {
	err := s.drain(ctx)
	if err != nil {
		s.log.Warn("closing a version with requests still in flight", "error", err)
	}
	if cerr := s.close(ctx); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if forget {
		r.opts.Metrics.Forget(s.Model, s.Version)
		s.log.Info("model version unloaded")
	} else {
		s.log.Info("model version instance closed")
	}
	return err
}

func sortedModels(models map[string]*model) []string {
	names := make([]string, 0, len(models))
	for n := range models {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func sortedVersions(m *model) []int64 {
	nums := make([]int64, 0, len(m.versions))
	for n := range m.versions {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	return nums
}

// checkName rejects model names that could leave the models folder.
func checkName(name string) error {
	if err := config.CheckModelName(name); err != nil {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return nil
}
