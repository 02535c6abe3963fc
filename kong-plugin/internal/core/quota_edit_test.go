package core

import (
	"net/http"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
	"github.com/modelgate/modelgate/kong-plugin/internal/quota"
)

// TestQuotaSurvivesATiersEdit: raising one tier's limit in kong.yml is a new
// quotas section, hence a new gateway, but the counts go on: the consumer
// does not get a fresh quota from an unrelated edit.
func TestQuotaSurvivesATiersEdit(t *testing.T) {
	const key = "mg_test_erin_0123456789" // used by this test only
	withTier := func(day int) *Gateway {
		cfg := adderConfig(t)
		cfg.Auth.Consumers = append(cfg.Auth.Consumers, auth.Consumer{Name: "erin", Tier: "edited", KeySHA256: []string{digest(key)}})
		cfg.Quotas.Tiers = append(cfg.Quotas.Tiers, quota.Tier{Name: "edited", Day: day})
		return startGateway(t, cfg)
	}
	before := withTier(5)
	for i := range 3 {
		if res := call(before, "POST", "/v2/models/adder/versions/1/infer", key, adderBody); res.Status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, res.Status, res.Body)
		}
	}
	after := withTier(10)
	if after == before {
		t.Fatal("a tiers edit gave the same gateway")
	}
	res := call(after, "POST", "/v2/models/adder/versions/1/infer", key, adderBody)
	if res.Status != http.StatusOK || header(res.Header, "X-RateLimit-Limit-Day") != "10" ||
		header(res.Header, "X-RateLimit-Remaining-Day") != "6" {
		t.Fatalf("after raising the limit to 10: %d %v; want remaining 6", res.Status, res.Header)
	}
}
