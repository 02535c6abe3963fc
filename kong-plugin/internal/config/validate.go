package config

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/trust"
)

// versionName is what a version or alias may look like: no "/", no "..",
// so that a name can never walk out of the sidecar's model repository.
var versionName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidName reports whether s may name a model, version or alias.
func ValidName(s string) bool {
	return len(s) <= 128 && versionName.MatchString(s) && !containsDotDot(s)
}

func containsDotDot(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '.' && s[i+1] == '.' {
			return true
		}
	}
	return false
}

// problems collects every problem found, each with its place in the config.
type problems []error

func (p *problems) add(place, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", place, fmt.Sprintf(format, args...)))
}

// Validate reports every problem in c at once (joined), each prefixed with
// its place in the config, e.g. "models[0].split[1].weight: must be > 0".
// It expects c.WithDefaults() applied. What the config may do is bounded by
// trust.FromEnv(), which does not know the config's own folder: ValidateWith
// takes a policy that does.
func (c *Config) Validate() error {
	return c.ValidateWith(trust.FromEnv())
}

// ValidateWith is Validate under the operator's policy.
func (c *Config) ValidateWith(policy trust.Policy) error {
	var p problems
	c.validateSidecar(&p)
	c.validateLimits(&p)
	c.validateModels(&p)
	c.validateAccess(&p)
	c.validateAuth(&p)
	c.validateMetrics(&p)
	c.validateTrust(&p, policy)
	c.validatePaths(&p, policy)
	c.validatePrivacy(&p)
	return errors.Join(p...)
}

// validateMetrics refuses an address no listen could ever take: a taken
// one is retried in the background (gateway.serveMetrics), a malformed one
// must be a config error instead.
func (c *Config) validateMetrics(p *problems) {
	if c.Metrics.Addr == "" {
		return
	}
	_, port, err := net.SplitHostPort(c.Metrics.Addr)
	if err != nil {
		p.add("metrics.addr", "want HOST:PORT or :PORT: %v", err)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.add("metrics.addr", "port %q is not a number from 0 to 65535", port)
	}
}

func (c *Config) validateSidecar(p *problems) {
	s := c.Sidecar
	switch s.Mode {
	case "launch":
		if s.Command == "" {
			p.add("sidecar.command", "required in launch mode")
		}
	case "attach":
		if s.Socket == "" {
			p.add("sidecar.socket", "required in attach mode")
		}
	default:
		p.add("sidecar.mode", "%q is not launch or attach", s.Mode)
	}
	if s.MaxMessageBytes < 0 {
		p.add("sidecar.max_message_bytes", "must be > 0")
	}
	for i, e := range s.Env {
		if !envEntry.MatchString(e) {
			p.add(fmt.Sprintf("sidecar.env[%d]", i), "want NAME=VALUE")
		}
	}
	checkDuration(p, "sidecar.start_timeout", s.StartTimeout)
	checkDuration(p, "sidecar.check_interval", s.CheckInterval)
	checkDuration(p, "sidecar.max_backoff", s.MaxBackoff)
}

var envEntry = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

func (c *Config) validateLimits(p *problems) {
	l := c.Limits
	if l.MaxBodyBytes < 0 {
		p.add("limits.max_body_bytes", "must be > 0")
	}
	if l.MaxElements < 0 {
		p.add("limits.max_elements", "must be > 0")
	}
	checkDuration(p, "limits.default_timeout", l.DefaultTimeout)
	checkDuration(p, "limits.max_timeout", l.MaxTimeout)
}

func checkDuration(p *problems, place, s string) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		p.add(place, "%q is not a duration like \"250ms\" or \"10s\"", s)
	case d <= 0:
		p.add(place, "must be > 0")
	}
}

func (c *Config) validateModels(p *problems) {
	seen := map[string]bool{}
	for i, m := range c.Models {
		place := fmt.Sprintf("models[%d]", i)
		if !ValidName(m.Name) {
			p.add(place+".name", "%q is not a model name (letters, digits, . _ -)", m.Name)
		}
		if seen[m.Name] {
			p.add(place+".name", "model %q is listed twice", m.Name)
		}
		seen[m.Name] = true
		for alias, version := range m.Aliases {
			if !ValidName(alias) {
				p.add(place+".aliases", "%q is not an alias name", alias)
			}
			if !ValidName(version) {
				p.add(place+".aliases."+alias, "%q is not a version", version)
			}
		}
		if m.DefaultAlias != "" && !m.isTarget(m.DefaultAlias) {
			p.add(place+".default_alias", "%q is neither an alias nor a version", m.DefaultAlias)
		}
		total := 0
		for j, s := range m.Split {
			sp := fmt.Sprintf("%s.split[%d]", place, j)
			if !m.isTarget(s.Target) {
				p.add(sp+".target", "%q is neither an alias nor a version", s.Target)
			}
			if s.Weight < 0 {
				p.add(sp+".weight", "must be >= 0")
			}
			total += s.Weight
		}
		if len(m.Split) > 0 && total <= 0 {
			p.add(place+".split", "weights add up to %d, want > 0", total)
		}
		for consumer, target := range m.Pins {
			if !m.isTarget(target) {
				p.add(place+".pins."+consumer, "%q is neither an alias nor a version", target)
			}
		}
		sh := m.Shadow
		if sh.Percent < 0 || sh.Percent > 100 {
			p.add(place+".shadow.percent", "%v is not within 0..100", sh.Percent)
		}
		if sh.Percent > 0 && !m.isTarget(sh.Target) {
			p.add(place+".shadow.target", "%q is neither an alias nor a version", sh.Target)
		}
		if sh.Source != "" && !m.isTarget(sh.Source) {
			p.add(place+".shadow.source", "%q is neither an alias nor a version", sh.Source)
		}
	}
}

// isTarget reports whether t can name a version of m: an alias of m, or
// something that looks like a version (the sidecar decides whether it exists).
func (m Model) isTarget(t string) bool {
	if _, ok := m.Aliases[t]; ok {
		return true
	}
	return ValidName(t)
}
