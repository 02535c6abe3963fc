package repository

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/sidecar/internal/config"
	"github.com/modelgate/modelgate/sidecar/internal/modelfile"
)

// Poll scans the models folder once: new models and versions are loaded,
// changed ones reloaded, removed ones unloaded. Problems are logged and
// shown in the index; Poll itself only fails when the folder is unreadable.
func (r *Repository) Poll(ctx context.Context) error {
	r.ops.Lock()
	defer r.ops.Unlock()
	entries, err := os.ReadDir(r.opts.Dir)
	if err != nil {
		return fmt.Errorf("reading models folder: %w", err)
	}
	present := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !isDir(r.opts.Dir, e) {
			continue
		}
		if err := config.CheckModelName(name); err != nil {
			if !r.skipped[name] { // once, not on every poll
				r.log.Warn("skipping model folder", "folder", name, "error", err)
				r.skipped[name] = true
			}
			continue
		}
		present[name] = true
		_ = r.reconcile(ctx, name, false)
	}
	r.mu.RLock()
	var gone []string
	for name := range r.models {
		if !present[name] {
			gone = append(gone, name)
		}
	}
	r.mu.RUnlock()
	for _, name := range gone {
		r.log.Info("model folder removed; unloading", "model", name)
		r.unloadVersions(ctx, name, nil)
		r.mu.Lock()
		delete(r.models, name)
		r.mu.Unlock()
		r.opts.Metrics.SetLoaded(name, 0)
	}
	return nil
}

// Run polls every interval until ctx ends.
func (r *Repository) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Poll(ctx); err != nil {
				r.log.Error("polling the model repository", "error", err)
			}
		}
	}
}

// modelLocked returns the model, creating its entry; r.mu must be held.
func (r *Repository) modelLocked(name string) *model {
	m, ok := r.models[name]
	if !ok {
		m = &model{name: name, dir: filepath.Join(r.opts.Dir, name),
			pinned: map[int64]bool{}, excluded: map[int64]bool{}, versions: map[int64]*version{}}
		r.models[name] = m
	}
	return m
}

// reconcile brings one model in line with its folder; r.ops must be held.
// explicit (LoadModel) retries versions whose last load failed. The error
// is the first load failure, for LoadModel to report.
func (r *Repository) reconcile(ctx context.Context, name string, explicit bool) error {
	r.mu.Lock()
	m := r.modelLocked(name)
	skip := m.unloaded && !explicit
	r.mu.Unlock()
	if skip {
		return nil
	}
	log := r.log.With("model", name)

	cfg, digest, cfgErr := readConfig(m.dir)
	r.mu.Lock()
	changed := digest != m.cfgDigest || (cfgErr == nil) != (m.cfgErr == nil)
	m.cfgDigest, m.cfgErr = digest, cfgErr
	r.mu.Unlock()
	if cfgErr != nil {
		// The versions already serving keep serving with the old config.
		if changed || explicit {
			log.Error("model config refused; serving versions keep their old config", "error", cfgErr)
			r.opts.Metrics.LoadFailed(name)
		}
		return fmt.Errorf("%w: %w", ErrLoadFailed, cfgErr)
	}

	available, err := versionFolders(m.dir)
	if err != nil {
		log.Error("reading model folder", "error", err)
		return fmt.Errorf("%w: %w", ErrLoadFailed, err)
	}
	if o := r.opts.Origins; o != nil {
		available = slices.DeleteFunc(available, func(n int64) bool { return o.Withdrawn(name, n) })
	}
	r.mu.Lock()
	wanted := cfg.VersionPolicy.Select(available)
	for n := range m.pinned {
		if slices.Contains(available, n) && !slices.Contains(wanted, n) {
			wanted = append(wanted, n)
		}
	}
	wanted = slices.DeleteFunc(wanted, func(n int64) bool { return m.excluded[n] })
	slices.Sort(wanted)
	m.wanted = wanted
	m.missing = nil
	for _, s := range cfg.VersionPolicy.Specific {
		if n, _ := strconv.ParseInt(s, 10, 64); !slices.Contains(available, n) {
			m.missing = append(m.missing, s)
		}
	}
	r.mu.Unlock()
	if len(m.missing) > 0 && changed {
		log.Warn("version policy names versions without a folder", "missing", m.missing)
	}

	var firstErr error
	tried := false
	for _, n := range wanted {
		attempted, err := r.ensureLoaded(ctx, m, n, cfg, digest, explicit)
		tried = tried || attempted
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}

	// Versions no longer wanted go only once every wanted one serves, so a
	// failed new version never leaves the model without the old one.
	r.mu.RLock()
	allReady := true
	for _, n := range wanted {
		if v := m.versions[n]; v == nil || v.serving == nil {
			allReady = false
		}
	}
	var stale []int64
	for n, v := range m.versions {
		if slices.Contains(wanted, n) {
			continue
		}
		if v.serving == nil || allReady || !slices.Contains(available, n) {
			stale = append(stale, n)
		}
	}
	r.mu.RUnlock()
	if len(stale) > 0 {
		r.unloadVersions(ctx, name, stale)
	}
	if !allReady && len(wanted) > 0 && tried {
		log.Warn("model not fully ready; older versions kept serving", "wanted", wanted)
	}
	return firstErr
}

// ensureLoaded loads version n unless it serves from the same files already
// (or failed on them, unless explicit); attempted says whether it tried.
func (r *Repository) ensureLoaded(ctx context.Context, m *model, n int64, cfg *config.Config, cfgDigest string, explicit bool) (attempted bool, err error) {
	vname := strconv.FormatInt(n, 10)
	vdir := filepath.Join(m.dir, vname)
	sum, sumErr := modelfile.Digest(vdir)
	from := r.origin(m.name, n, sum)
	// The model file's size and time join the checksum: a file still being
	// copied when a poll failed it must be retried once complete, even if
	// its .sha256 was already in place. The origin joins it too: a version
	// pulled again by another digest (a re-pushed tag) is reloaded, as
	// Triton and TF Serving reload a version whose files changed.
	fingerprint := cfgDigest + "/" + sum + "/" + fileStamp(vdir) + "/" + from.source + ":" + from.digest

	r.mu.Lock()
	v, ok := m.versions[n]
	if !ok {
		v = &version{number: n, state: StateUnavailable}
		m.versions[n] = v
	}
	if v.fingerprint == fingerprint && (v.serving != nil || (v.state == StateFailed && !explicit)) {
		r.mu.Unlock()
		return false, nil
	}
	if v.serving == nil {
		v.state, v.reason = StateLoading, ""
	}
	r.mu.Unlock()

	log := r.log.With("model", m.name, "version", vname)
	log.Info("loading model version")
	start := time.Now()
	var s *Served
	err = sumErr
	if err == nil {
		s, err = r.loadServed(ctx, m.name, vname, m.dir, cfg)
	}

	r.mu.Lock()
	v.fingerprint = fingerprint
	var old *Served
	if err != nil {
		if v.serving == nil {
			v.state, v.reason = StateFailed, err.Error()
		} else {
			v.reason = "reload failed, previous files still serving: " + err.Error()
		}
	} else {
		old = v.serving
		v.serving, v.state, v.reason, v.origin = s, StateReady, "", from
	}
	ready := len(readyVersions(m))
	r.mu.Unlock()
	r.opts.Metrics.SetLoaded(m.name, ready)

	if err != nil {
		r.opts.Metrics.LoadFailed(m.name)
		log.Error("model version failed to load", "error", err)
		return true, fmt.Errorf("%w: model %q version %s: %w", ErrLoadFailed, m.name, vname, err)
	}
	log.Info("model version ready", "took", time.Since(start).Round(time.Millisecond).String(), "source", from.source, "digest", from.digest)
	if old != nil {
		r.retireWithTimeout(ctx, old, false)
	}
	return true, nil
}

// origin is where version n's files come from: the registry digest its
// syncer pulled it by, else the model file's sha256 (sum, from .sha256).
func (r *Repository) origin(model string, n int64, sum string) origin {
	if r.opts.Origins != nil {
		if d, ok := r.opts.Origins.Origin(model, n); ok {
			return origin{source: SourceRegistry, digest: d}
		}
	}
	if sum == "" {
		return origin{source: SourceLocal}
	}
	return origin{source: SourceLocal, digest: "sha256:" + sum}
}

// unloadVersions unpublishes the given versions of a model (all when nil),
// then drains and frees them.
func (r *Repository) unloadVersions(ctx context.Context, name string, only []int64) {
	r.mu.Lock()
	m, ok := r.models[name]
	if !ok {
		r.mu.Unlock()
		return
	}
	var retiring []*Served
	var states []*version
	for n, v := range m.versions {
		if only != nil && !slices.Contains(only, n) {
			continue
		}
		if v.serving != nil {
			retiring = append(retiring, v.serving)
			v.serving, v.state, v.reason = nil, StateUnloading, ""
			states = append(states, v)
		} else {
			// Nothing serves: forget a failed or never-loaded version.
			delete(m.versions, n)
		}
	}
	ready := len(readyVersions(m))
	r.mu.Unlock()
	r.opts.Metrics.SetLoaded(name, ready)
	for _, s := range retiring {
		r.retireWithTimeout(ctx, s, true)
	}
	r.mu.Lock()
	for _, v := range states {
		if v.serving == nil && v.state == StateUnloading {
			v.state, v.fingerprint = StateUnavailable, ""
		}
	}
	r.mu.Unlock()
}

func (r *Repository) retireWithTimeout(ctx context.Context, s *Served, forget bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.DrainTimeout)
	defer cancel()
	if err := r.retire(ctx, s, forget); err != nil {
		s.log.Warn("unloading model version", "error", err)
	}
}
