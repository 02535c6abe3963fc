package core

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modelgate/modelgate/kong-plugin/internal/apis"
	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// TestConsumerLabelsAreBounded: with metrics.consumer_labels, requests of
// many JWT subjects count under their issuer's "<namespace>:*", never one
// label per subject; configured consumers keep their names (issue 12,
// item 10).
func TestConsumerLabelsAreBounded(t *testing.T) {
	secret := strings.Repeat("labels-test-hmac-", 3)
	t.Setenv("MODELGATE_TEST_LABELS_HMAC", secret)
	cfg := adderConfig(t)
	cfg.Metrics.ConsumerLabels = true
	cfg.Auth.JWT = []auth.Issuer{{Issuer: "https://labels.test", Name: "labels", Algorithms: []string{"HS256"},
		Secret: "env:MODELGATE_TEST_LABELS_HMAC", Audiences: []string{"modelgate"}, DefaultTier: "free",
		Subjects: map[string]string{"alice-sso": "alice"}}}
	g := startGateway(t, cfg)

	do := func(subject string) protocol.Response {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "https://labels.test", "sub": subject,
			"aud": "modelgate", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{"Authorization": {"Bearer " + tok}, "Content-Type": {"application/json"}}
		return g.Handle(context.Background(), apis.Router, protocol.Request{Method: "POST",
			Path: "/v2/models/adder/versions/1/infer", Header: h, Body: []byte(adderBody)})
	}
	for _, subject := range []string{"labels-subject-1", "labels-subject-2", "labels-subject-3", "alice-sso"} {
		if res := do(subject); res.Status != http.StatusOK {
			t.Fatalf("subject %s: %d %s", subject, res.Status, res.Body)
		}
	}
	families, err := g.metrics.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "modelgate_consumer_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "consumer" {
					counts[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	for label := range counts {
		if strings.Contains(label, "labels-subject") {
			t.Errorf("a subject is a label value: %q", label)
		}
	}
	if counts["labels:*"] < 3 || counts["alice"] < 1 {
		t.Errorf("consumer counts %v: want >= 3 under labels:* and the mapped subject under alice", counts)
	}
}
