// Package registrysync keeps the sidecar's model repository in step with an
// OCI registry: for each configured model it lists the versions (tags),
// applies the model's version policy, pulls the missing versions by digest
// into the folder the repository loads from (verified by digest and, with a
// key, by signature), pulls again a version whose tag now names other
// content, and removes the versions it pulled that the policy dropped. It
// has the repository poll after a change.
package registrysync

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelgate/modelgate/internal/registry"
	"github.com/modelgate/modelgate/sidecar/internal/config"
	"github.com/modelgate/modelgate/sidecar/internal/metrics"
)

// stateDir, under the models folder, holds the blob cache and the record of
// pulled versions; the repository skips folders whose name starts with a dot.
const stateDir = ".registry"

// Options configure a Syncer.
type Options struct {
	Client *registry.Client
	// Namespace is REGISTRY/NAMESPACE; model M lives at Namespace/M.
	Namespace string
	Models    []string
	// Dir is the models folder.
	Dir string
	// Key, if set, is the public key every version must be signed with.
	Key      *ecdsa.PublicKey
	Registry prometheus.Registerer
	Logger   *slog.Logger
}

// Syncer pulls model versions from a registry into the models folder.
type Syncer struct {
	opts  Options
	cache *registry.Cache
	log   *slog.Logger

	// mu guards records, which the repository reads (Origin) while a sync runs.
	mu      sync.Mutex
	records map[string]record

	pulls    *prometheus.CounterVec
	bytes    *prometheus.CounterVec
	failures *prometheus.CounterVec
}

// New checks the options and registers the metrics.
func New(opts Options) (*Syncer, error) {
	if opts.Client == nil || opts.Namespace == "" || len(opts.Models) == 0 {
		return nil, errors.New("registry sync needs a client, a namespace and models")
	}
	for _, m := range opts.Models {
		if err := config.CheckModelName(m); err != nil {
			return nil, err
		}
	}
	s := &Syncer{
		opts:    opts,
		records: map[string]record{},
		cache:   &registry.Cache{Dir: filepath.Join(opts.Dir, stateDir, "blobs")},
		log:     opts.Logger.With("registry", opts.Namespace),
		pulls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Name: "registry_pulls_total",
			Help: "Model versions pulled from the registry, by model and outcome (ok, failed, refused: digest or signature)."}, []string{"model", "outcome"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Name: "registry_pulled_bytes_total",
			Help: "Bytes fetched from the registry (blobs the node's cache already held are not fetched again)."}, []string{"model"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Name: "registry_sync_failures_total",
			Help: "Registry syncs of a model that failed (registry unreachable, listing refused, bad config)."}, []string{"model"}),
	}
	if opts.Registry != nil {
		for _, c := range []prometheus.Collector{s.pulls, s.bytes, s.failures} {
			if err := opts.Registry.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// Repository is the model repository that loads from the syncer's folder.
type Repository interface {
	// Poll loads what the folder holds now (new and replaced versions) and
	// unloads what it no longer has or the syncer withdrew, draining each
	// first.
	Poll(ctx context.Context) error
	// Holds reports whether a version is still loaded, loading or unloading.
	Holds(model string, version int64) bool
}

// Sync brings every model in step once, and has repo load and unload the
// changes before the folders of replaced and withdrawn versions are removed.
// It reports whether the models folder changed, and the models that failed
// (joined); a failed model keeps the versions it has.
func (s *Syncer) Sync(ctx context.Context, repo Repository) (changed bool, err error) {
	var errs []error
	for _, model := range s.opts.Models {
		c, err := s.syncModel(ctx, model)
		changed = changed || c
		if err != nil {
			s.failures.WithLabelValues(model).Inc()
			s.log.Warn("registry sync failed; serving the versions already here", "model", model, "error", err)
			errs = append(errs, fmt.Errorf("%s: %w", model, err))
		}
	}
	if changed {
		if err := repo.Poll(ctx); err != nil {
			errs = append(errs, err)
		}
		// The repository has loaded the replacing versions (or kept the
		// previous instance, which reads no files after its load).
		if err := os.RemoveAll(filepath.Join(s.opts.Dir, stateDir, asideDir)); err != nil {
			errs = append(errs, err)
		}
	}
	removed := false
	for _, model := range s.opts.Models {
		r, err := s.removeUnloaded(model, repo)
		if err != nil {
			errs = append(errs, err)
		}
		removed = removed || r
	}
	if changed || removed {
		if _, err := s.cache.Prune(); err != nil {
			errs = append(errs, err)
		}
	}
	return changed || removed, errors.Join(errs...)
}

func (s *Syncer) syncModel(ctx context.Context, model string) (changed bool, err error) {
	name := s.opts.Namespace + "/" + model
	tags, err := s.opts.Client.VersionTags(ctx, name)
	if err != nil {
		return false, err
	}
	if len(tags) == 0 {
		return false, fmt.Errorf("%s has no versions", name)
	}
	slices.Sort(tags)
	cfgBytes, err := s.policyConfig(ctx, name, tags)
	if err != nil {
		return false, err
	}
	cfg, err := config.Parse(model+"/config.yaml", cfgBytes)
	if err != nil {
		return false, err
	}
	wanted := cfg.VersionPolicy.Select(tags)
	pulled, err := s.pulled(model)
	if err != nil {
		return false, err
	}
	_, noConfig := os.Stat(filepath.Join(s.opts.Dir, model, "config.yaml"))
	var errs []error
	for i, v := range wanted {
		// The newest wanted version also brings the model-level files.
		c, err := s.syncVersion(ctx, name, model, v, i == len(wanted)-1 || noConfig != nil, pulled)
		changed = changed || c
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// A wanted version is missing: removing the ones it would replace could leave fewer than the policy asks for.
		return changed, errors.Join(errs...)
	}
	withdrawn := false
	for v, p := range pulled {
		if slices.Contains(wanted, v) || p.withdrawn {
			continue
		}
		s.log.Info("version no longer in the policy: the repository unloads it, then its folder is removed", "model", model, "version", v)
		p.withdrawn = true
		pulled[v] = p
		withdrawn = true
	}
	if withdrawn {
		if err := s.setRecord(model, pulled); err != nil {
			return changed, err
		}
		changed = true
	}
	return changed, nil
}

// syncVersion brings one wanted version in step: pulled when missing, pulled
// again when its tag now names other content, served again when it was
// withdrawn and its tag is back. pulled is the model's record, updated (on
// disk too) with what changed.
func (s *Syncer) syncVersion(ctx context.Context, name, model string, v int64, modelFiles bool, pulled record) (changed bool, err error) {
	tag := strconv.FormatInt(v, 10)
	was, ours := pulled[v]
	_, statErr := os.Stat(filepath.Join(s.opts.Dir, model, tag))
	if statErr == nil && !ours {
		return false, nil // put there by hand
	}
	// The tag is resolved on every sync, also for a version pulled before:
	// a tag re-pushed to other content is pulled again.
	_, d, err := s.opts.Client.Resolve(ctx, name+":"+tag)
	if err != nil {
		if statErr != nil {
			s.pulls.WithLabelValues(model, "failed").Inc()
		}
		return false, err
	}
	opts := registry.PullOptions{ModelFiles: modelFiles}
	if statErr == nil {
		if d == was.digest {
			if !was.withdrawn {
				return false, nil
			}
			s.log.Info("a withdrawn version is wanted again", "model", model, "version", tag)
			pulled[v] = pulledVersion{digest: d}
			return true, s.setRecord(model, pulled)
		}
		s.log.Warn("a version's tag now names other content (re-pushed): pulling it again; the repository reloads it once it loads",
			"model", model, "version", tag, "was", was.digest, "now", d)
		if opts.ReplaceInto, err = s.asideFolder(model, tag); err != nil {
			return false, err
		}
	}
	if err := s.pullVersion(ctx, name, model, tag, d, opts); err != nil {
		return false, err
	}
	pulled[v] = pulledVersion{digest: d}
	return true, s.setRecord(model, pulled)
}

// removeUnloaded removes the folders of the model's withdrawn versions that
// repo no longer holds (a version still draining waits for a later sync).
func (s *Syncer) removeUnloaded(model string, repo Repository) (removed bool, err error) {
	pulled, err := s.pulled(model)
	if err != nil {
		return false, err
	}
	var errs []error
	for v, p := range pulled {
		if !p.withdrawn || repo.Holds(model, v) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.opts.Dir, model, strconv.FormatInt(v, 10))); err != nil {
			errs = append(errs, err)
			continue
		}
		s.log.Info("removed an unloaded version's folder", "model", model, "version", v)
		delete(pulled, v)
		removed = true
	}
	if removed {
		errs = append(errs, s.setRecord(model, pulled))
	}
	return removed, errors.Join(errs...)
}

// maxPolicyTries bounds how many versions, newest first, policyConfig tries
// for one that is signed.
const maxPolicyTries = 8

// policyConfig is the config.yaml of the newest version, or with a key, of
// the newest signed version: whoever may push but not sign must not choose
// the versions a node serves (or removes).
func (s *Syncer) policyConfig(ctx context.Context, name string, tags []int64) ([]byte, error) {
	for i := len(tags) - 1; i >= 0 && i >= len(tags)-maxPolicyTries; i-- {
		b, d, err := s.opts.Client.ModelConfig(ctx, name, strconv.FormatInt(tags[i], 10), s.cache)
		if s.opts.Key == nil || err != nil {
			return b, err
		}
		err = s.opts.Client.Verify(ctx, name, d, s.opts.Key)
		if err == nil {
			return b, nil
		}
		if !registry.Refused(err) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: none of the newest %d versions of %s is signed by the key", registry.ErrSignature, maxPolicyTries, name)
}

// pullVersion pulls version tag by digest d, the one its tag resolved to,
// after its signature checked.
func (s *Syncer) pullVersion(ctx context.Context, name, model, tag string, d digest.Digest, opts registry.PullOptions) error {
	if s.opts.Key != nil {
		if err := s.opts.Client.Verify(ctx, name, d, s.opts.Key); err != nil {
			outcome := "failed"
			if registry.Refused(err) {
				outcome = "refused"
			}
			s.pulls.WithLabelValues(model, outcome).Inc()
			s.log.Error("refusing an unverified version", "model", model, "version", tag, "digest", d, "error", err)
			return err
		}
	}
	opts.Cache, opts.Version = s.cache, tag
	p, err := s.opts.Client.PullVersion(ctx, name, d, s.opts.Dir, opts)
	s.bytes.WithLabelValues(model).Add(float64(p.Bytes))
	if err != nil {
		outcome := "failed"
		if registry.Refused(err) {
			outcome = "refused"
		}
		s.pulls.WithLabelValues(model, outcome).Inc()
		s.log.Error("pulling a version failed", "model", model, "version", tag, "digest", d, "error", err)
		return err
	}
	s.pulls.WithLabelValues(model, "ok").Inc()
	s.log.Info("pulled a version from the registry", "model", model, "version", p.Version, "digest", d, "bytes", p.Bytes)
	return nil
}

// asideDir, in the state folder, holds version folders replaced by a new
// pull until the repository no longer reads them.
const asideDir = "replaced"

// asideFolder is a new path for the previous folder of a replaced version.
func (s *Syncer) asideFolder(model, version string) (string, error) {
	dir := filepath.Join(s.opts.Dir, stateDir, asideDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, model+"-"+version+"-")
	if err != nil {
		return "", err
	}
	return filepath.Join(tmp, version), nil
}

// Run syncs every interval until ctx ends. A failed sync is retried sooner,
// with backoff from one second up to the interval.
func (s *Syncer) Run(ctx context.Context, interval time.Duration, repo Repository) {
	wait, backoff := interval, time.Second
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if _, err := s.Sync(ctx, repo); err != nil {
			wait, backoff = min(backoff, interval), min(2*backoff, interval)
		} else {
			wait, backoff = interval, time.Second
		}
	}
}
