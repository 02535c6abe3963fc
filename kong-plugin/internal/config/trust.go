package config

import (
	"fmt"

	"github.com/modelgate/modelgate/kong-plugin/internal/trust"
)

// validateTrust checks the fields that run code, open listeners or send a
// password against what the operator allows (package trust, read from the
// plugin server's environment, never from the config itself).
func (c *Config) validateTrust(p *problems, policy trust.Policy) {
	s := c.Sidecar
	if s.Mode == "launch" {
		if s.Command != "" {
			if _, err := policy.SidecarCommand(s.Command); err != nil {
				p.add("sidecar.command", "%v", err)
			}
		}
		for _, err := range policy.CheckSidecarArgs(s.Args) {
			p.add(fmt.Sprintf("sidecar.args[%d]", err.Index), "%s", err.Reason)
		}
		for i, e := range s.Env {
			if err := trust.CheckSidecarEnv(e); err != nil {
				p.add(fmt.Sprintf("sidecar.env[%d]", i), "%v", err)
			}
		}
	}
	if c.Metrics.Addr != "" {
		if err := policy.CheckListen(c.Metrics.Addr); err != nil {
			p.add("metrics.addr", "%v", err)
		}
	}
	if r := c.Quotas.Redis; c.Quotas.Policy == "redis" && r.Addr != "" {
		if err := policy.CheckRedis(r.Addr); err != nil {
			p.add("quotas.redis.addr", "%v", err)
		}
	}
}
