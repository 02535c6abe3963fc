package privacy

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"

	"github.com/modelgate/modelgate/kong-plugin/internal/privacy/detect"
	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
)

// Config is the `privacy` section of the plugin config. go-pdk derives
// Kong's schema from it by reflection, so it holds only strings, slices,
// maps and structs with plain json tags. Kong fills a section kong.yml
// leaves out with nulls, so "absent" is "no detectors and no custom
// patterns": then the policy is off.
type Config struct {
	// Detectors names the built-in detectors to run (detect.Builtin).
	Detectors []string `json:"detectors"`
	// Custom are the operator's own patterns.
	Custom []CustomPattern `json:"custom"`
	// Action is what happens to what is found: mask (the default), redact,
	// hash, reject or detect.
	Action string `json:"action"`
	// HashKey is a secret reference (`env:NAME` or `file:PATH`) to the
	// HMAC-SHA256 key of the hash action; required when any action is hash.
	HashKey string `json:"hash_key"`
	// Tiers override Action per consumer tier (quotas.tiers).
	Tiers map[string]TierPolicy `json:"tiers"`
}

// CustomPattern is one operator pattern: RE2, bounded by word boundaries
// like the built-in detectors. Name is its kind in masks, hashes, the
// 400 of reject, audit records and metric labels.
type CustomPattern struct {
	Name    string `json:"name"`
	Pattern string `json:"pattern"`
}

// TierPolicy is what one tier gets instead of the section's action.
type TierPolicy struct {
	Action string `json:"action"`
}

// Action is what the policy does with a finding.
type Action string

// The actions.
const (
	// Mask replaces a finding with "<" + its upper-cased kind + ">".
	Mask Action = "mask"
	// Redact removes a finding.
	Redact Action = "redact"
	// Hash replaces a finding with "<KIND:h>", h the first 12 hex digits of
	// HMAC-SHA256(hash_key, the consumer's length as 4 big-endian bytes,
	// the consumer, the finding): equal for one consumer, different across
	// consumers, and not reversible without the key.
	Hash Action = "hash"
	// Reject refuses a request with a finding: 400 naming the kinds found.
	Reject Action = "reject"
	// Detect only counts findings: the text reaches the model unchanged.
	Detect Action = "detect"
)

var actions = []Action{Mask, Redact, Hash, Reject, Detect}

// maxCustomPatterns bounds the custom patterns, which are metric label
// values and each cost a pass over every text.
const maxCustomPatterns = 32

// customName is what a custom pattern's name may look like: short, lower
// case, a metric label value and a mask token once upper-cased.
var customName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// Enabled reports whether the section turns the policy on.
func (c Config) Enabled() bool { return len(c.Detectors) > 0 || len(c.Custom) > 0 }

// action is the section's action, with its default.
func (c Config) action() Action {
	if c.Action == "" {
		return Mask
	}
	return Action(c.Action)
}

// usesHash reports whether any action is hash.
func (c Config) usesHash() bool {
	if c.action() == Hash {
		return true
	}
	for _, t := range c.Tiers {
		if Action(t.Action) == Hash {
			return true
		}
	}
	return false
}

// Validate reports every problem at once, each prefixed with its place,
// e.g. "privacy.custom[1].pattern: ...". Tier names are checked against
// quotas.tiers by the config package, which sees both sections.
func (c Config) Validate() error {
	var errs []error
	add := func(place, format string, args ...any) {
		errs = append(errs, fmt.Errorf("privacy.%s: %s", place, fmt.Sprintf(format, args...)))
	}
	if !c.Enabled() {
		if c.Action != "" || c.HashKey != "" || len(c.Tiers) > 0 {
			add("detectors", "name at least one detector or custom pattern, or leave the privacy section out")
		}
		return errors.Join(errs...)
	}
	for i, name := range c.Detectors {
		if slices.Index(c.Detectors, name) < i {
			add(fmt.Sprintf("detectors[%d]", i), "detector %q is listed twice", name)
		} else if _, err := detect.New([]string{name}, nil); err != nil {
			add(fmt.Sprintf("detectors[%d]", i), "%v", err)
		}
	}
	if len(c.Custom) > maxCustomPatterns {
		add("custom", "%d patterns, at most %d", len(c.Custom), maxCustomPatterns)
	}
	for i, p := range c.Custom {
		place := fmt.Sprintf("custom[%d]", i)
		switch {
		case !customName.MatchString(p.Name):
			add(place+".name", "%q is not a pattern name (a lower-case letter, then up to 31 of a-z 0-9 _)", p.Name)
		case slices.Contains(detect.Builtin, p.Name):
			add(place+".name", "%q is a built-in detector's name", p.Name)
		case slices.IndexFunc(c.Custom, func(q CustomPattern) bool { return q.Name == p.Name }) < i:
			add(place+".name", "%q is listed twice", p.Name)
		}
		if _, err := detect.New(nil, []detect.Custom{{Name: p.Name, Pattern: p.Pattern}}); err != nil {
			add(place+".pattern", "%v", err)
		}
	}
	checkAction := func(place, a string) {
		if a != "" && !slices.Contains(actions, Action(a)) {
			add(place, "%q is not one of %v", a, actions)
		}
	}
	checkAction("action", c.Action)
	for _, t := range c.TierNames() {
		if c.Tiers[t].Action == "" {
			add("tiers."+t+".action", "required")
		}
		checkAction("tiers."+t+".action", c.Tiers[t].Action)
	}
	switch {
	case c.usesHash() && c.HashKey == "":
		add("hash_key", "required when an action is hash (an env:NAME or file:PATH reference to at least 32 bytes)")
	case c.HashKey != "":
		if err := secret.Check(c.HashKey); err != nil {
			add("hash_key", "%v", err)
		}
	}
	return errors.Join(errs...)
}

// TierNames are the tiers the section overrides, sorted, for the config
// package's check against quotas.tiers.
func (c Config) TierNames() []string {
	out := make([]string, 0, len(c.Tiers))
	for t := range c.Tiers {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
