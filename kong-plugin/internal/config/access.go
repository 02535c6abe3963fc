package config

import (
	"fmt"
	"slices"
)

// The values of unlisted_models.
const (
	UnlistedAllow = "allow"
	UnlistedDeny  = "deny"
)

// VersionAccess is who may call one version of a model, on top of the
// model's own allow lists: a consumer named in AllowConsumers or on a tier
// in AllowTiers. Both empty is refused: a version nobody may call is
// better left unloaded.
type VersionAccess struct {
	AllowConsumers []string `json:"allow_consumers"`
	AllowTiers     []string `json:"allow_tiers"`
}

// DeniesUnlisted reports whether models that `models` does not list are
// closed to every consumer.
func (c *Config) DeniesUnlisted() bool { return c.UnlistedModels == UnlistedDeny }

// VersionAccess returns the per-version allow lists of m keyed by version
// (aliases resolved); Validate has refused two keys naming one version.
func (m Model) VersionAccess() map[string]VersionAccess {
	if len(m.Versions) == 0 {
		return nil
	}
	out := make(map[string]VersionAccess, len(m.Versions))
	for key, a := range m.Versions {
		out[m.versionOf(key)] = a
	}
	return out
}

// versionOf resolves an alias of m to its version; anything else is a version.
func (m Model) versionOf(t string) string {
	if v, ok := m.Aliases[t]; ok {
		return v
	}
	return t
}

func (c *Config) validateAccess(p *problems) {
	switch c.UnlistedModels {
	case "", UnlistedAllow, UnlistedDeny:
	default:
		p.add("unlisted_models", "%q is not allow or deny", c.UnlistedModels)
	}
	for i, m := range c.Models {
		if len(m.Versions) > 0 && !c.AuthEnabled() {
			// Without credentials every request is anonymous: no list
			// could ever let anyone through, nor be checked.
			p.add(fmt.Sprintf("models[%d].versions", i), "allow lists need credentials (auth.consumers or auth.jwt)")
		}
		keys := make([]string, 0, len(m.Versions))
		for key := range m.Versions {
			keys = append(keys, key)
		}
		slices.Sort(keys) // one order for the problems, whatever the map's
		byVersion := map[string]string{}
		for _, key := range keys {
			place := fmt.Sprintf("models[%d].versions.%s", i, key)
			if !m.isTarget(key) {
				p.add(place, "%q is neither an alias nor a version", key)
				continue
			}
			a := m.Versions[key]
			if len(a.AllowConsumers) == 0 && len(a.AllowTiers) == 0 {
				p.add(place, "allow_consumers and allow_tiers are both empty: name who may call the version")
			}
			for j, t := range a.AllowTiers {
				if len(c.Quotas.Tiers) > 0 && !c.Quotas.HasTier(t) {
					p.add(fmt.Sprintf("%s.allow_tiers[%d]", place, j), "tier %q is not in quotas.tiers", t)
				}
			}
			v := m.versionOf(key)
			if other, ok := byVersion[v]; ok {
				p.add(place, "names version %q, as %q does: give each version one entry", v, other)
			}
			byVersion[v] = key
		}
		c.checkPinsAllowed(p, i, m)
	}
}

// checkPinsAllowed refuses a pin that sends a configured consumer to a
// version it may not call: every request of that consumer would be a 403.
func (c *Config) checkPinsAllowed(p *problems, i int, m Model) {
	access := m.VersionAccess()
	if access == nil {
		return
	}
	tiers := make(map[string]string, len(c.Auth.Consumers))
	for _, cons := range c.Auth.Consumers {
		tiers[cons.Name] = cons.Tier
	}
	for consumer, target := range m.Pins {
		tier, configured := tiers[consumer]
		a, restricted := access[m.versionOf(target)]
		if !configured || !restricted || slices.Contains(a.AllowConsumers, consumer) || slices.Contains(a.AllowTiers, tier) {
			continue
		}
		p.add(fmt.Sprintf("models[%d].pins.%s", i, consumer), "%q is a version the consumer may not call (models[%d].versions)", target, i)
	}
}
