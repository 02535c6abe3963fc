package quota

import (
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

// policy builds a config of one policy, so behaviour tests run against
// local counters and a real redis-server alike.
type policy struct {
	name string
	cfg  func(...Tier) Config
}

func policies(t *testing.T) []policy {
	return []policy{
		{"local", func(ts ...Tier) Config { return Config{Policy: PolicyLocal, Tiers: ts} }},
		{"redis", func(ts ...Tier) Config {
			r := testutil.StartRedis(t)
			return Config{Policy: PolicyRedis, Redis: Redis{Addr: r.Addr, Timeout: "500ms"}, Tiers: ts}
		}},
	}
}
