package config

import (
	"strings"
	"testing"
)

func TestPrivacySection(t *testing.T) {
	// Kong fills a section kong.yml leaves out with nulls: the policy is off.
	c, err := Load([]byte(`{"privacy":{"detectors":null,"custom":null,"action":null,"hash_key":null,"tiers":null},"audit":false}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Privacy.Enabled() || c.Audits() {
		t.Errorf("an absent privacy section is on: %+v", c.Privacy)
	}
	c, err = Load([]byte(`{"quotas":{"tiers":[{"name":"trial","day":5}]},
		"privacy":{"detectors":["email"],"action":"mask","tiers":{"trial":{"action":"reject"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Privacy.Enabled() || !c.Audits() {
		t.Errorf("privacy on, audits %v: %+v", c.Audits(), c.Privacy)
	}
	if c, err := Load([]byte(`{"audit":true}`)); err != nil || !c.Audits() {
		t.Errorf("audit: true: audits %v, %v", c.Audits(), err)
	}
	_, err = Load([]byte(`{"quotas":{"tiers":[{"name":"trial","day":5}]},
		"privacy":{"detectors":["email","fax"],"action":"hash","tiers":{"gold":{"action":"detect"}}}}`))
	for _, want := range []string{
		`privacy.detectors[1]: unknown detector "fax"`,
		`privacy.hash_key: required when an action is hash`,
		`privacy.tiers.gold: tier "gold" is not in quotas.tiers`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if _, err := Load([]byte(`{"privacy":{"detectors":["email"],"mode":"mask"}}`)); err == nil || !strings.Contains(err.Error(), `unknown field "mode"`) {
		t.Errorf("an unknown privacy field: %v", err)
	}
}
