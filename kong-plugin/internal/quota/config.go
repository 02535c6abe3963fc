package quota

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
)

// Config is the `quotas` section of the plugin config. go-pdk derives Kong's
// schema from it by reflection, so it holds only strings, bools, ints, slices
// and structs, with plain json tags; durations are strings.
type Config struct {
	// Policy is where counters live: "local" (this process; the default) or
	// "redis" (shared by every Kong node).
	Policy string `json:"policy"`
	// FaultTolerant lets requests through, without quota headers, when Redis
	// fails or is slower than its timeout; false answers 503 instead. As in
	// Kong's rate-limiting plugin.
	FaultTolerant bool `json:"fault_tolerant"`
	// Redis is the Redis connection, used by the "redis" policy.
	Redis Redis `json:"redis"`
	// Tiers are the named sets of limits consumers belong to.
	Tiers []Tier `json:"tiers"`
}

// Redis configures the connection of the "redis" policy.
type Redis struct {
	// Addr is host:port (for a cluster: the address of any node).
	Addr string `json:"addr"`
	// Username is the ACL user; empty for the default user.
	Username string `json:"username"`
	// Password is a secret reference (`env:NAME` or `file:PATH`); empty for none.
	Password string `json:"password"`
	// DB is the database number (must be 0 with Cluster).
	DB int `json:"db"`
	// Cluster connects to a Redis Cluster. Keys carry a per-consumer hash tag,
	// so each request's script touches one slot.
	Cluster bool `json:"cluster"`
	// Timeout bounds every Redis call, connecting included ("50ms"; default
	// DefaultRedisTimeout). Keep it short: it is added to a request's latency
	// whenever Redis is down or slow.
	Timeout string `json:"timeout"`
}

// Tier is a set of limits. A zero limit means no limit.
type Tier struct {
	// Name is what consumers refer to in auth (consumer tier, default_tier).
	Name string `json:"name"`
	// Second, Minute, Hour and Day limit requests per fixed window, the
	// windows aligned to the start of the UTC second, minute, hour and day.
	Second int `json:"second"`
	Minute int `json:"minute"`
	Hour   int `json:"hour"`
	Day    int `json:"day"`
	// Concurrency limits the consumer's requests in flight.
	Concurrency int `json:"concurrency"`
	// ItemsPerDay limits the batch items (rows of the batch dimension) a
	// consumer sends per UTC day.
	ItemsPerDay int `json:"items_per_day"`
}

// The policies.
const (
	PolicyLocal = "local"
	PolicyRedis = "redis"
)

// DefaultRedisTimeout is the Redis timeout when the config sets none.
const DefaultRedisTimeout = 50 * time.Millisecond

// maxRedisTimeout bounds the timeout: a quota check must never become the
// slow part of a request.
const maxRedisTimeout = 5 * time.Second

// Validate reports every problem of the section at once (joined with
// errors.Join), without connecting to Redis or reading secrets.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch c.Policy {
	case "", PolicyLocal:
	case PolicyRedis:
		if c.Redis.Addr == "" {
			add("quotas.redis.addr: required with policy redis")
		}
		if c.Redis.Cluster && c.Redis.DB != 0 {
			add("quotas.redis.db: must be 0 with cluster (Redis Cluster has one database)")
		}
	default:
		add("quotas.policy: %q is not local or redis", c.Policy)
	}
	if c.Redis.DB < 0 {
		add("quotas.redis.db: must not be negative")
	}
	if c.Redis.Password != "" {
		if err := secret.Check(c.Redis.Password); err != nil {
			add("quotas.redis.password: %w", err)
		}
	}
	if c.Redis.Timeout != "" {
		if d, err := time.ParseDuration(c.Redis.Timeout); err != nil {
			add("quotas.redis.timeout: %w", err)
		} else if d <= 0 || d > maxRedisTimeout {
			add("quotas.redis.timeout: must be above 0 and at most %s", maxRedisTimeout)
		}
	}

	names := map[string]bool{}
	for i, t := range c.Tiers {
		where := fmt.Sprintf("quotas.tiers[%d]", i)
		if t.Name == "" {
			add("%s.name: required", where)
		} else if names[t.Name] {
			add("%s.name: duplicate tier %q", where, t.Name)
		}
		names[t.Name] = true
		for _, f := range []struct {
			field string
			value int
		}{
			{"second", t.Second}, {"minute", t.Minute}, {"hour", t.Hour}, {"day", t.Day},
			{"concurrency", t.Concurrency}, {"items_per_day", t.ItemsPerDay},
		} {
			if f.value < 0 {
				add("%s.%s: must not be negative (0 = no limit)", where, f.field)
			}
		}
	}
	return errors.Join(errs...)
}

// HasTier reports whether the config defines the named tier, for the
// cross-section check that every tier auth names exists.
func (c Config) HasTier(name string) bool {
	for _, t := range c.Tiers {
		if t.Name == name {
			return true
		}
	}
	return false
}

// Key is a digest of the section's content: equal configs give equal keys.
// A process-global registry of Limiters keyed by it keeps local counters
// across Kong plugin instances and across config changes that leave the
// quotas section alone.
func (c Config) Key() string {
	b, _ := json.Marshal(c) // plain structs of strings and ints: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// StoreKey is a digest of what decides where the section's counters live:
// the policy, and for policy redis the connection. Sections with equal store
// keys can count in one store (Limiter.Share), so editing the tiers does not
// reset the counts. Every local section of a process has the same store key,
// as every redis section naming one Redis does: counts are per consumer.
func (c Config) StoreKey() string {
	if c.Policy != PolicyRedis {
		return "local"
	}
	b, _ := json.Marshal(c.Redis) // strings, ints and bools: cannot fail
	sum := sha256.Sum256(b)
	return "redis:" + hex.EncodeToString(sum[:])
}

// redisTimeout is the validated timeout.
func (c Config) redisTimeout() time.Duration {
	if c.Redis.Timeout == "" {
		return DefaultRedisTimeout
	}
	d, _ := time.ParseDuration(c.Redis.Timeout)
	return d
}
