package quota

import (
	"path/filepath"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

// policy builds a config of one policy, so behaviour tests run against
// local counters and a real redis-server alike.
type policy struct {
	name string
	cfg  func(...Tier) Config
	opts []Option
}

func policies(t *testing.T) []policy {
	return []policy{
		{"local", func(ts ...Tier) Config { return Config{Policy: PolicyLocal, Tiers: ts} }, nil},
		{"local-file", func(ts ...Tier) Config { return Config{Policy: PolicyLocal, Tiers: ts} },
			[]Option{WithCounterFile(filepath.Join(t.TempDir(), "counters"))}},
		{"redis", func(ts ...Tier) Config {
			r := testutil.StartRedis(t)
			return Config{Policy: PolicyRedis, Redis: Redis{Addr: r.Addr, Timeout: "500ms"}, Tiers: ts}
		}, nil},
	}
}
