package quota

import (
	"context"
	"strings"
	"testing"
)

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := Config{
		Policy: "memcached",
		Redis:  Redis{Password: "plain-password", DB: -1, Timeout: "1h"},
		Tiers: []Tier{
			{Name: ""},
			{Name: "free", Second: -1, ItemsPerDay: -5},
			{Name: "free"},
		},
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken config")
	}
	msg := err.Error()
	for _, want := range []string{
		`quotas.policy: "memcached" is not local or redis`,
		"quotas.redis.db: must not be negative",
		"quotas.redis.password: secret must be an env:NAME or file:PATH reference",
		"quotas.redis.timeout: must be above 0 and at most 5s",
		"quotas.tiers[0].name: required",
		"quotas.tiers[1].second: must not be negative",
		"quotas.tiers[1].items_per_day: must not be negative",
		`quotas.tiers[2].name: duplicate tier "free"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "plain-password") {
		t.Errorf("literal password leaked:\n%s", msg)
	}

	redisErrs := Config{Policy: PolicyRedis, Redis: Redis{Cluster: true, DB: 2, Timeout: "soon"}}.Validate().Error()
	for _, want := range []string{"quotas.redis.addr: required", "quotas.redis.db: must be 0 with cluster", "quotas.redis.timeout: time: invalid duration"} {
		if !strings.Contains(redisErrs, want) {
			t.Errorf("missing %q in:\n%s", want, redisErrs)
		}
	}
}

func TestValidDefaults(t *testing.T) {
	cfg := Config{Tiers: []Tier{{Name: "free", Minute: 1}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.redisTimeout() != DefaultRedisTimeout || !cfg.HasTier("free") || cfg.HasTier("gold") {
		t.Fatal("defaults or HasTier wrong")
	}
}

func TestKeyFollowsContent(t *testing.T) {
	a := Config{Tiers: []Tier{{Name: "free", Minute: 1}}}
	b := Config{Tiers: []Tier{{Name: "free", Minute: 1}}}
	c := Config{Tiers: []Tier{{Name: "free", Minute: 2}}}
	if a.Key() != b.Key() || a.Key() == c.Key() {
		t.Fatal("Key does not follow the content")
	}
}

func TestNewResolvesPassword(t *testing.T) {
	_, err := New(Config{Policy: PolicyRedis, Redis: Redis{Addr: "127.0.0.1:1", Password: "env:QUOTA_TEST_UNSET"}})
	if err == nil || !strings.Contains(err.Error(), "QUOTA_TEST_UNSET is not set") {
		t.Fatalf("New: %v", err)
	}
}

func BenchmarkTakeLocal(b *testing.B) {
	l, err := New(Config{Tiers: []Tier{{Name: "t", Second: 1 << 30, Minute: 1 << 30, Day: 1 << 30, Concurrency: 1 << 20, ItemsPerDay: 1 << 30}}})
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d, err := l.Take(context.Background(), "alice", "t", 1)
			if err != nil || !d.Allowed {
				b.Fatal(d, err)
			}
			d.Release()
		}
	})
}
