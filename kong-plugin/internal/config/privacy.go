package config

import "fmt"

// validatePrivacy validates the privacy section with its package's rules,
// then what it cannot see alone: every tier it overrides must exist in
// quotas.tiers.
func (c *Config) validatePrivacy(p *problems) {
	if err := c.Privacy.Validate(); err != nil {
		*p = append(*p, err)
	}
	for _, t := range c.Privacy.TierNames() {
		if !c.Quotas.HasTier(t) {
			p.add(fmt.Sprintf("privacy.tiers.%s", t), "tier %q is not in quotas.tiers", t)
		}
	}
}

// Audits reports whether each inference's audit record goes to Kong's log
// serializer: with audit on, or with the privacy policy on.
func (c *Config) Audits() bool { return c.Audit || c.Privacy.Enabled() }
