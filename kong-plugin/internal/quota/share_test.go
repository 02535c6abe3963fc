package quota

import "testing"

// TestShareKeepsCounts: a Limiter for edited tiers (a raised limit) that
// shares the store keeps counting from where the old one was.
func TestShareKeepsCounts(t *testing.T) {
	for _, policy := range policies(t) {
		t.Run(policy.name, func(t *testing.T) {
			old := policy.cfg(Tier{Name: "t", Day: 5})
			l, c := newTestLimiter(t, old, policy.opts...)
			for range 3 {
				take(t, l, "alice", "t", 0)
			}
			raised := old
			raised.Tiers = []Tier{{Name: "t", Day: 10}}
			raised.FaultTolerant = !old.FaultTolerant
			s, err := l.Share(raised)
			if err != nil {
				t.Fatal(err)
			}
			s.now = c.Now
			d := take(t, s, "alice", "t", 0)
			if !d.Allowed || hdr(d.Headers, "X-RateLimit-Limit-Day") != "10" || hdr(d.Headers, "X-RateLimit-Remaining-Day") != "6" {
				t.Fatalf("after raising the limit: %+v; want limit 10, remaining 6", d)
			}
			// The old Limiter sees the new count too: one store.
			if d := take(t, l, "alice", "t", 0); hdr(d.Headers, "X-RateLimit-Remaining-Day") != "0" {
				t.Fatalf("old limiter: %+v; want remaining 0 of 5", d)
			}
		})
	}
}

// TestShareRefusesAnotherStore: counts cannot move between stores.
func TestShareRefusesAnotherStore(t *testing.T) {
	l, _ := newTestLimiter(t, Config{Policy: PolicyLocal, Tiers: []Tier{{Name: "t", Day: 1}}})
	other := Config{Policy: PolicyRedis, Redis: Redis{Addr: "127.0.0.1:1"}, Tiers: []Tier{{Name: "t", Day: 1}}}
	if _, err := l.Share(other); err == nil {
		t.Fatal("Share across policies succeeded")
	}
	if a, b := (Config{Tiers: []Tier{{Name: "a", Day: 1}}}).StoreKey(), (Config{Policy: PolicyLocal}).StoreKey(); a != b {
		t.Errorf("local store keys differ: %q %q", a, b)
	}
	r1 := Config{Policy: PolicyRedis, Redis: Redis{Addr: "h:1"}, Tiers: []Tier{{Name: "a", Day: 1}}}
	r2 := Config{Policy: PolicyRedis, Redis: Redis{Addr: "h:1"}, Tiers: []Tier{{Name: "a", Day: 2}}}
	r3 := Config{Policy: PolicyRedis, Redis: Redis{Addr: "h:2"}}
	if r1.StoreKey() != r2.StoreKey() || r1.StoreKey() == r3.StoreKey() {
		t.Errorf("redis store keys: same Redis %v, other Redis %v", r1.StoreKey() == r2.StoreKey(), r1.StoreKey() == r3.StoreKey())
	}
}
