// Package config is the modelgate plugin's configuration: the structs Kong
// validates kong.yml against (go-pdk derives the schema from them by
// reflection), their defaults, their validation and a content key.
//
// go-pdk v0.11.2 silently drops int64, uint64 and time.Duration fields from
// the schema and takes the whole json tag as the field name, so every field
// here is a string, bool, int, float64, slice, map or struct with a plain
// tag; durations are strings such as "250ms".
package config

import (
	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
	"github.com/modelgate/modelgate/kong-plugin/internal/privacy"
	"github.com/modelgate/modelgate/kong-plugin/internal/quota"
)

// Config is the root of the `modelgate` plugin's config in kong.yml.
type Config struct {
	Sidecar Sidecar `json:"sidecar"`
	Limits  Limits  `json:"limits"`
	// Auth is the credentials section, owned by package auth.
	Auth auth.Config `json:"auth"`
	// Quotas is the per-tier limits section, owned by package quota.
	Quotas quota.Config `json:"quotas"`
	Models []Model      `json:"models"`
	// UnlistedModels says who may use a model the sidecar serves that
	// `models` does not list: "allow" (the default, "" too) every
	// authenticated consumer, "deny" nobody.
	UnlistedModels string  `json:"unlisted_models"`
	Metrics        Metrics `json:"metrics"`
	// Privacy is the data-masking section, owned by package privacy; off
	// when it names no detector and no custom pattern.
	Privacy privacy.Config `json:"privacy"`
	// Audit adds each inference's audit record (consumer, model, version,
	// status, items, latency, findings per kind) to Kong's log serializer,
	// at one more PDK round trip; privacy implies it.
	Audit bool `json:"audit"`
}

// Sidecar says how the plugin server reaches modelgate-sidecar.
type Sidecar struct {
	// Mode is "launch" (the plugin server starts and supervises the sidecar
	// binary) or "attach" (the sidecar runs on its own, on Socket).
	Mode string `json:"mode"`
	// Command is the sidecar binary in launch mode.
	Command string `json:"command"`
	// Args are the sidecar's flags in launch mode, e.g. ["--models", "deploy/models"].
	Args []string `json:"args"`
	// Env holds extra NAME=VALUE environment entries for the launched sidecar.
	Env []string `json:"env"`
	// Socket is the sidecar's unix socket in attach mode.
	Socket string `json:"socket"`
	// MaxMessageBytes caps a gRPC message in both directions.
	MaxMessageBytes int `json:"max_message_bytes"`
	// StartTimeout bounds one launch or attach attempt.
	StartTimeout string `json:"start_timeout"`
	// CheckInterval is how often the supervisor pings a running sidecar.
	CheckInterval string `json:"check_interval"`
	// MaxBackoff caps the wait between restart attempts.
	MaxBackoff string `json:"max_backoff"`
}

// Limits bound what one request may cost.
type Limits struct {
	// MaxBodyBytes is the largest request body; larger ones get 413.
	MaxBodyBytes int `json:"max_body_bytes"`
	// DefaultTimeout is the request's deadline when the client sets none.
	DefaultTimeout string `json:"default_timeout"`
	// MaxTimeout caps the deadline a client asks for with the infer body's
	// parameters.timeout (microseconds, as Triton reads it).
	MaxTimeout string `json:"max_timeout"`
	// MaxElements caps the elements of one input tensor.
	MaxElements int `json:"max_elements"`
}

// Model is the routing of one model: aliases, the traffic split, pins,
// shadow traffic and who may use it.
type Model struct {
	Name string `json:"name"`
	// Aliases name versions: {"stable": "1", "canary": "2"}.
	Aliases map[string]string `json:"aliases"`
	// DefaultAlias is served when no version, pin or split decides;
	// empty means the sidecar's latest ready version.
	DefaultAlias string `json:"default_alias"`
	// Split spreads consumers over targets by weight, sticky per consumer.
	Split []SplitTarget `json:"split"`
	// Pins fix a consumer to a version or alias.
	Pins map[string]string `json:"pins"`
	// Shadow also sends a sample of requests to another version.
	Shadow Shadow `json:"shadow"`
	// AllowConsumers and AllowTiers limit who may use the model; both
	// empty means every authenticated consumer.
	AllowConsumers []string `json:"allow_consumers"`
	AllowTiers     []string `json:"allow_tiers"`
	// Versions limits who may call single versions, keyed by version or
	// alias: {"canary": {allow_tiers: [gold]}}. A version not named here
	// is open to whoever may use the model.
	Versions map[string]VersionAccess `json:"versions"`
}

// SplitTarget is one arm of a traffic split: a version or an alias.
type SplitTarget struct {
	Target string `json:"target"`
	Weight int    `json:"weight"`
}

// Shadow mirrors Percent of the requests that Source's version answers to
// Target after the client's answer is decided; the shadow answer is only
// compared, never returned.
type Shadow struct {
	// Source is the version or alias whose answers are mirrored, however
	// the request reached it (URL, label, pin, split or default); empty
	// mirrors every version's answers, as configs without it always did.
	Source  string  `json:"source"`
	Target  string  `json:"target"`
	Percent float64 `json:"percent"`
}

// Metrics configures the plugin server's Prometheus endpoint.
type Metrics struct {
	// Addr is where /metrics is served, e.g. ":9542"; empty turns it off.
	Addr string `json:"addr"`
	// ConsumerLabels adds a per-consumer request counter; off by default
	// because consumer names make label sets unbounded.
	ConsumerLabels bool `json:"consumer_labels"`
}
