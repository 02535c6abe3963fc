package config

import (
	"strings"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
	"github.com/modelgate/modelgate/kong-plugin/internal/quota"
)

func TestValidateAccess(t *testing.T) {
	c := Config{
		Quotas:         quota.Config{Tiers: []quota.Tier{{Name: "free"}}},
		UnlistedModels: "closed",
		Models: []Model{{
			Name:    "m",
			Aliases: map[string]string{"canary": "2"},
			Versions: map[string]VersionAccess{
				"canary": {AllowTiers: []string{"gold"}},
				"2":      {AllowConsumers: []string{"alice"}},
				"../x":   {AllowConsumers: []string{"alice"}},
				"3":      {},
			},
		}},
	}.WithDefaults()
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`unlisted_models: "closed" is not allow or deny`,
		`models[0].versions.canary: names version "2", as "2" does`,
		`models[0].versions.../x: "../x" is neither an alias nor a version`,
		"models[0].versions.3: allow_consumers and allow_tiers are both empty",
		"models[0].versions: allow lists need credentials",
		`models[0].versions.canary.allow_tiers[0]: tier "gold" is not in quotas.tiers`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}

	pinned := Config{Auth: auth.Config{Consumers: []auth.Consumer{{Name: "bob", Tier: "free", KeySHA256: []string{strings.Repeat("ab", 32)}}}},
		Models: []Model{{
			Name: "m", Aliases: map[string]string{"canary": "2"}, Pins: map[string]string{"bob": "canary"},
			Versions: map[string]VersionAccess{"2": {AllowTiers: []string{"gold"}}},
		}}}.WithDefaults()
	if err := pinned.Validate(); err == nil || !strings.Contains(err.Error(), `models[0].pins.bob: "canary" is a version the consumer may not call`) {
		t.Errorf("a pin to a version the consumer may not call: %v", err)
	}

	ok := Config{Auth: auth.Config{Consumers: []auth.Consumer{{Name: "alice", Tier: "gold", KeySHA256: []string{strings.Repeat("ab", 32)}}}},
		UnlistedModels: UnlistedDeny, Models: []Model{{
			Name: "m", Aliases: map[string]string{"canary": "2"},
			Versions: map[string]VersionAccess{"canary": {AllowTiers: []string{"gold"}}},
		}}}.WithDefaults()
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid access config: %v", err)
	}
	if !ok.DeniesUnlisted() {
		t.Error("unlisted_models: deny does not deny")
	}
	if got := ok.Models[0].VersionAccess(); len(got) != 1 || got["2"].AllowTiers[0] != "gold" {
		t.Errorf("the alias is not resolved: %+v", got)
	}
	if (&Config{}).DeniesUnlisted() {
		t.Error("unlisted_models left out denies: the default must stay allow")
	}
}
