package config

import "fmt"

// withAuthDefaults leaves the auth and quotas sections' defaults to their
// packages (auth.New and quota.New apply them); nothing to add here.
func (c *Config) withAuthDefaults() {}

// validateAuth validates the auth and quotas sections with their own
// packages' rules, then what neither can see alone: every tier a consumer
// or a JWT issuer names must exist in quotas.tiers (when tiers are set),
// and every tier or consumer a model's allow list names must exist.
func (c *Config) validateAuth(p *problems) {
	if err := c.Auth.Validate(); err != nil {
		*p = append(*p, err)
	}
	if err := c.Quotas.Validate(); err != nil {
		*p = append(*p, err)
	}
	if len(c.Quotas.Tiers) > 0 {
		for i, cons := range c.Auth.Consumers {
			if cons.Tier != "" && !c.Quotas.HasTier(cons.Tier) {
				p.add(fmt.Sprintf("auth.consumers[%d].tier", i), "tier %q is not in quotas.tiers", cons.Tier)
			}
		}
		for i, iss := range c.Auth.JWT {
			if iss.DefaultTier != "" && !c.Quotas.HasTier(iss.DefaultTier) {
				p.add(fmt.Sprintf("auth.jwt[%d].default_tier", i), "tier %q is not in quotas.tiers", iss.DefaultTier)
			}
		}
		for i, m := range c.Models {
			for j, t := range m.AllowTiers {
				if !c.Quotas.HasTier(t) {
					p.add(fmt.Sprintf("models[%d].allow_tiers[%d]", i, j), "tier %q is not in quotas.tiers", t)
				}
			}
		}
	}
}

// AuthEnabled reports whether any credential is configured. Without
// consumers and issuers the gateway is open: requests are anonymous and
// take no quota.
func (c *Config) AuthEnabled() bool {
	return len(c.Auth.Consumers) > 0 || len(c.Auth.JWT) > 0
}
