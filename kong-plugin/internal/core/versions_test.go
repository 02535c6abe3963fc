package core

import (
	"fmt"
	"math"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

func sentimentRouting() *modelRouting {
	return compileRouting([]config.Model{{
		Name:         "sentiment",
		Aliases:      map[string]string{"stable": "1", "canary": "2"},
		DefaultAlias: "stable",
		Split:        []config.SplitTarget{{Target: "stable", Weight: 90}, {Target: "canary", Weight: 10}},
		Pins:         map[string]string{"pinned": "3", "pinned-alias": "canary"},
	}}).model("sentiment")
}

func TestResolvePrecedence(t *testing.T) {
	m := sentimentRouting()
	tests := []struct {
		name     string
		r        protocol.InferRequest
		consumer string
		version  string
		source   string
	}{
		{"explicit version beats pin", protocol.InferRequest{Model: "sentiment", Version: "7"}, "pinned", "7", sourceURL},
		{"label beats pin", protocol.InferRequest{Model: "sentiment", Alias: "stable"}, "pinned", "1", sourceLabel},
		{"pin beats split", protocol.InferRequest{Model: "sentiment"}, "pinned", "3", sourcePin},
		{"pin to an alias", protocol.InferRequest{Model: "sentiment"}, "pinned-alias", "2", sourcePin},
	}
	for _, tt := range tests {
		v, src, err := m.resolve(tt.r, tt.consumer, tt.consumer)
		if err != nil || v != tt.version || src != tt.source {
			t.Errorf("%s: got %q %q %v, want %q %q", tt.name, v, src, err, tt.version, tt.source)
		}
	}
	if _, _, err := m.resolve(protocol.InferRequest{Model: "sentiment", Alias: "nope"}, "x", "x"); err == nil || err.Kind != protocol.KindNotFound {
		t.Errorf("unknown label: %v, want 404", err)
	}
	// Without a split the default alias decides; without that, the latest.
	noSplit := compileRouting([]config.Model{{Name: "m", Aliases: map[string]string{"stable": "4"}, DefaultAlias: "stable"}}).model("m")
	if v, src, _ := noSplit.resolve(protocol.InferRequest{Model: "m"}, "c", "c"); v != "4" || src != sourceDefault {
		t.Errorf("default alias: %q %q", v, src)
	}
	unlisted := compileRouting(nil).model("other")
	if v, src, _ := unlisted.resolve(protocol.InferRequest{Model: "other"}, "c", "c"); v != "" || src != sourceLatest {
		t.Errorf("unlisted model: %q %q", v, src)
	}
}

func TestSplitStickyAndProportional(t *testing.T) {
	m := sentimentRouting()
	const consumers = 20000
	counts := map[string]int{}
	for i := 0; i < consumers; i++ {
		c := fmt.Sprintf("consumer-%d", i)
		v, src, err := m.resolve(protocol.InferRequest{Model: "sentiment"}, c, c)
		if err != nil || src != sourceSplit {
			t.Fatalf("%s: %q %v", c, src, err)
		}
		for j := 0; j < 3; j++ {
			if again, _, _ := m.resolve(protocol.InferRequest{Model: "sentiment"}, c, c); again != v {
				t.Fatalf("%s: version changed from %s to %s", c, v, again)
			}
		}
		counts[v]++
	}
	share := float64(counts["2"]) / consumers
	// 10% canary; the binomial standard deviation at n=20000 is 0.2%.
	if math.Abs(share-0.10) > 0.01 {
		t.Errorf("canary share %.3f, want 0.10 +- 0.01 (%v)", share, counts)
	}
	if counts["1"]+counts["2"] != consumers {
		t.Errorf("versions outside the split: %v", counts)
	}
}

func TestAllowLists(t *testing.T) {
	rt := compileRouting([]config.Model{
		{Name: "open"},
		{Name: "closed", AllowConsumers: []string{"alice"}, AllowTiers: []string{"gold"}},
	})
	tests := []struct {
		model, consumer, tier string
		want                  bool
	}{
		{"open", "bob", "free", true},
		{"closed", "alice", "free", true},
		{"closed", "bob", "gold", true},
		{"closed", "bob", "free", false},
		{"unlisted", "bob", "free", true},
	}
	for _, tt := range tests {
		if got := rt.model(tt.model).allows(tt.consumer, tt.tier); got != tt.want {
			t.Errorf("%s by %s/%s: %v, want %v", tt.model, tt.consumer, tt.tier, got, tt.want)
		}
	}
}
