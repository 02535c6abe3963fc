package core

import (
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelgate/modelgate/bench"
	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/config"
)

// sentimentRolloutConfig routes the shipped sentiment model (versions 1, 2
// and 3 in deploy/models) with stable on 1 and canary on canary, mirroring
// 10% of what version 2 answers (the canary's traffic) to version 3.
func sentimentRolloutConfig(t testing.TB, canary string) config.Config {
	a, q := testAuth()
	sc := testSidecar(t)
	sc.Args = []string{"--models", filepath.Join(testutil.RepoRoot(), "deploy", "models"),
		"--ort-lib", testutil.ORTLib(t), "--log-level", "warn"}
	return config.Config{
		Sidecar: sc,
		Auth:    a,
		Quotas:  q,
		Models: []config.Model{{
			Name:         "sentiment",
			Aliases:      map[string]string{"stable": "1", "canary": canary},
			DefaultAlias: "stable",
			Shadow:       config.Shadow{Source: "canary", Target: "3", Percent: 10},
		}},
	}
}

// seedShadowSampler makes the gateway's shadow sampling repeatable: the
// test replays the same sequence to know which requests were sampled.
func seedShadowSampler(g *Gateway, seed uint64) {
	g.shadowRandMu.Lock()
	defer g.shadowRandMu.Unlock()
	g.shadowRand = rand.New(rand.NewPCG(seed, seed))
}

// sampledOf replays seedShadowSampler's sequence: how many of n requests
// eligible for shadowing a percent samples.
func sampledOf(seed uint64, n int, percent float64) int {
	r := rand.New(rand.NewPCG(seed, seed))
	sampled := 0
	for range n {
		if r.Float64()*100 < percent {
			sampled++
		}
	}
	return sampled
}

// shadowSeries sums modelgate_shadow_requests_total for a model, read from
// the metrics registry as /metrics would export it, by "from->to" and result.
func shadowSeries(t *testing.T, g *Gateway, model string) map[[3]string]float64 {
	t.Helper()
	families, err := g.metrics.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[[3]string]float64{}
	for _, f := range families {
		if f.GetName() != "modelgate_shadow_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["model"] == model {
				out[[3]string{labels["from"], labels["to"], labels["result"]}] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// predictSentiment sends one text to a label of the sentiment model and
// returns the version that answered.
func predictSentiment(t *testing.T, g *Gateway, label, text string) string {
	t.Helper()
	body, err := json.Marshal(map[string]string{"text": text})
	if err != nil {
		t.Fatal(err)
	}
	res := call(g, "POST", "/v1/models/sentiment/labels/"+label+":predict", keyBob, string(body))
	if res.Status != 200 {
		t.Fatalf("%s: %d %s", label, res.Status, res.Body)
	}
	return res.Header.Get("X-Model-Version")
}

// TestShadowRollout is the README's rollout story on the shipped model:
// shadow 10% of what version 2 (canary) serves to version 3, read the
// agreement from the metric (only from="2",to="3" grows, and by exactly the
// requests sampled), then move canary to 3 with a new config, as Kong hands
// the plugin a changed kong.yml, and canary traffic is served by 3.
func TestShadowRollout(t *testing.T) {
	g := startGateway(t, sentimentRolloutConfig(t, "2"))
	const seed = 16
	seedShadowSampler(g, seed)
	before := shadowSeries(t, g, "sentiment")

	texts, err := bench.ReadSentences(filepath.Join(testutil.RepoRoot(), "deploy", "train", "data", "heldout.tsv"))
	if err != nil || len(texts) < 200 {
		t.Fatalf("held-out sentences: %d, %v", len(texts), err)
	}
	texts = texts[:200]
	for _, text := range texts {
		if v := predictSentiment(t, g, "stable", text); v != "1" {
			t.Fatalf("stable answered by version %q", v)
		}
		if v := predictSentiment(t, g, "canary", text); v != "2" {
			t.Fatalf("canary answered by version %q", v)
		}
	}
	want := sampledOf(seed, len(texts), 10)
	if want == 0 {
		t.Fatal("the seed samples nothing: pick another")
	}

	grown := func() map[[3]string]float64 {
		after := shadowSeries(t, g, "sentiment")
		d := map[[3]string]float64{}
		for k, v := range after {
			if v != before[k] {
				d[k] = v - before[k]
			}
		}
		return d
	}
	// The shadow calls run after the answers, in the background: wait for
	// every sample to be counted (a bound against a hang, not a speed goal).
	deadline := time.Now().Add(time.Minute)
	var d map[[3]string]float64
	for {
		d = grown()
		total := 0.0
		for _, v := range d {
			total += v
		}
		if total >= float64(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	agreed, disagreed := d[[3]string{"2", "3", shadowAgree}], d[[3]string{"2", "3", shadowDisagree}]
	t.Logf("%d canary requests, %d sampled: %v agree, %v disagree", len(texts), want, agreed, disagreed)
	if agreed+disagreed != float64(want) {
		t.Errorf("agree %v + disagree %v, want the %d requests sampled", agreed, disagreed, want)
	}
	if agreed < disagreed {
		t.Errorf("versions 2 and 3 agree on %v and disagree on %v sentences", agreed, disagreed)
	}
	for k := range d {
		if k[0] != "2" || k[1] != "3" || (k[2] != shadowAgree && k[2] != shadowDisagree) {
			t.Errorf("series from=%q to=%q result=%q grew by %v", k[0], k[1], k[2], d[k])
		}
	}

	// The rollout's last step: canary moves to 3. The shadow's source
	// (version 2) now serves nobody through the aliases, so nothing more
	// is mirrored.
	promoted := startGateway(t, sentimentRolloutConfig(t, "3"))
	if promoted == g {
		t.Fatal("the changed config gave the same gateway")
	}
	before = shadowSeries(t, promoted, "sentiment")
	for _, text := range texts[:20] {
		if v := predictSentiment(t, promoted, "canary", text); v != "3" {
			t.Fatalf("after the move, canary answered by version %q", v)
		}
		if v := predictSentiment(t, promoted, "stable", text); v != "1" {
			t.Fatalf("after the move, stable answered by version %q", v)
		}
	}
	if d := grown(); len(d) != 0 {
		t.Errorf("after the move the shadow metric grew: %v", d)
	}
}
