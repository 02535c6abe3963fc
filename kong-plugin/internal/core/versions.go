package core

import (
	"hash/fnv"

	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// Where a request's version came from, as the X-Model-Version-Source
// header says it (bounded, so metrics may use it too).
const (
	sourceURL     = "url"     // /versions/{v} in the path
	sourceLabel   = "label"   // /labels/{alias} in the path
	sourcePin     = "pin"     // the consumer is pinned
	sourceSplit   = "split"   // the weighted split chose
	sourceDefault = "default" // the model's default alias
	sourceLatest  = "latest"  // nothing chose: the sidecar's latest ready version
)

// modelRouting is one model's compiled routing: every alias already
// resolved to a version, the split as cumulative weights.
type modelRouting struct {
	name           string
	aliases        map[string]string
	defaultVersion string
	split          []splitArm
	splitTotal     uint64
	pins           map[string]string
	shadowSource   string // the version whose answers are mirrored; empty: every version's
	shadowVersion  string
	shadowPercent  float64
	allowConsumers map[string]bool
	allowTiers     map[string]bool
	// versionAccess holds the allow lists of the versions that have one
	// (models[].versions, aliases resolved); closed marks a model that
	// nobody may use (not listed, with unlisted_models: deny).
	versionAccess map[string]allowList
	closed        bool
}

type splitArm struct {
	version string
	upTo    uint64 // cumulative weight: the arm takes buckets below upTo
}

// routing is the compiled `models` section.
type routing struct {
	models map[string]*modelRouting
	// denyUnlisted closes the models `models` does not list (unlisted_models: deny).
	denyUnlisted bool
}

func compileRouting(models []config.Model) *routing {
	rt := &routing{models: make(map[string]*modelRouting, len(models))}
	for _, m := range models {
		mr := &modelRouting{
			name:           m.Name,
			aliases:        m.Aliases,
			pins:           map[string]string{},
			allowConsumers: set(m.AllowConsumers),
			allowTiers:     set(m.AllowTiers),
			versionAccess:  compileVersionAccess(m.VersionAccess()),
		}
		if m.DefaultAlias != "" {
			mr.defaultVersion = mr.target(m.DefaultAlias)
		}
		for _, s := range m.Split {
			if s.Weight <= 0 {
				continue
			}
			mr.splitTotal += uint64(s.Weight)
			mr.split = append(mr.split, splitArm{version: mr.target(s.Target), upTo: mr.splitTotal})
		}
		for consumer, t := range m.Pins {
			mr.pins[consumer] = mr.target(t)
		}
		if m.Shadow.Percent > 0 {
			mr.shadowVersion = mr.target(m.Shadow.Target)
			if m.Shadow.Source != "" {
				mr.shadowSource = mr.target(m.Shadow.Source)
			}
			mr.shadowPercent = m.Shadow.Percent
		}
		rt.models[m.Name] = mr
	}
	return rt
}

func set(list []string) map[string]bool {
	if len(list) == 0 {
		return nil
	}
	s := make(map[string]bool, len(list))
	for _, v := range list {
		s[v] = true
	}
	return s
}

// target resolves an alias to its version; anything else is a version.
func (m *modelRouting) target(t string) string {
	if v, ok := m.aliases[t]; ok {
		return v
	}
	return t
}

// model returns the routing of a model; models not listed in the config
// are served at their latest version to every authenticated consumer, or
// to nobody with unlisted_models: deny.
func (rt *routing) model(name string) *modelRouting {
	if m, ok := rt.models[name]; ok {
		return m
	}
	return &modelRouting{name: name, closed: rt.denyUnlisted}
}

// resolve picks the version for a request: an explicit version in the URL
// (or an alias via /labels/{alias}) > the consumer's pin > the weighted split,
// sticky per (consumer, model) > the default alias > the latest version
// (empty: the sidecar decides). stickyKey identifies the consumer.
func (m *modelRouting) resolve(r protocol.InferRequest, consumer, stickyKey string) (version, source string, err *protocol.Error) {
	switch {
	case r.Version != "":
		return r.Version, sourceURL, nil
	case r.Alias != "":
		v, ok := m.aliases[r.Alias]
		if !ok {
			return "", "", protocol.Errorf(protocol.KindNotFound, "model %q has no label %q", m.name, r.Alias)
		}
		return v, sourceLabel, nil
	}
	if v, ok := m.pins[consumer]; ok && consumer != "" {
		return v, sourcePin, nil
	}
	if m.splitTotal > 0 {
		b := bucket(stickyKey, m.name, m.splitTotal)
		for _, arm := range m.split {
			if b < arm.upTo {
				return arm.version, sourceSplit, nil
			}
		}
	}
	if m.defaultVersion != "" {
		return m.defaultVersion, sourceDefault, nil
	}
	return "", sourceLatest, nil
}

// bucket hashes (key, model) into [0, n): the same consumer lands in the
// same bucket for as long as the weights stay the same.
func bucket(key, model string, n uint64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(model))
	return mix64(h.Sum64()) % n
}

// mix64 is splitmix64's finalizer: FNV's low bits are weak for short keys,
// and the modulo reads exactly those.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
