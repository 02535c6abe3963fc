package repository

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/modelgate/modelgate/sidecar/internal/config"
)

// Load loads a model (LoadModel RPC): with version empty, whatever its
// policy wants; else that version too, even outside the policy. Failed
// versions are retried. It returns the versions ready afterwards.
func (r *Repository) Load(ctx context.Context, name, version string) ([]string, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	r.ops.Lock()
	defer r.ops.Unlock()
	if _, err := os.Stat(filepath.Join(r.opts.Dir, name)); err != nil {
		return nil, fmt.Errorf("%w: model %q is not in the repository", ErrNotFound, name)
	}
	r.mu.Lock()
	m := r.modelLocked(name)
	m.unloaded = false
	if version == "" {
		clear(m.excluded)
	} else {
		n, err := config.VersionNumber(version)
		if err != nil {
			r.mu.Unlock()
			return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		if _, err := os.Stat(filepath.Join(m.dir, version)); err != nil {
			r.mu.Unlock()
			return nil, fmt.Errorf("%w: model %q has no version folder %q", ErrNotFound, name, version)
		}
		delete(m.excluded, n)
		m.pinned[n] = true
	}
	r.mu.Unlock()
	if err := r.reconcile(ctx, name, true); err != nil {
		return nil, err
	}
	return r.ReadyVersions(name)
}

// Unload unloads a model's versions (UnloadModel RPC): all of them when
// version is empty. They stay unloaded, even across polls, until Load.
func (r *Repository) Unload(ctx context.Context, name, version string) error {
	if err := checkName(name); err != nil {
		return err
	}
	r.ops.Lock()
	defer r.ops.Unlock()
	r.mu.Lock()
	m, ok := r.models[name]
	if !ok {
		r.mu.Unlock()
		return fmt.Errorf("%w: model %q is not in the repository", ErrNotFound, name)
	}
	var only []int64
	if version == "" {
		m.unloaded = true
	} else {
		n, err := strconv.ParseInt(version, 10, 64)
		if _, ok := m.versions[n]; err != nil || !ok {
			r.mu.Unlock()
			return fmt.Errorf("%w: model %q has no version %q", ErrNotFound, name, version)
		}
		m.excluded[n] = true
		delete(m.pinned, n)
		m.wanted = slices.DeleteFunc(m.wanted, func(w int64) bool { return w == n })
		only = []int64{n}
	}
	r.mu.Unlock()
	r.unloadVersions(ctx, name, only)
	return nil
}
