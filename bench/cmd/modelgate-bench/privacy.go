package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/modelgate/modelgate/bench"
)

// procServePrivacy is the second serve process, the one with privacy on.
const procServePrivacy = "serve + privacy"

// builtinDetectors are the plugin's built-in detectors (package detect's
// Builtin, which the bench, outside kong-plugin/, cannot import).
var builtinDetectors = []string{"email", "phone", "credit_card", "iban", "ip_address", "cn_resident_id", "us_ssn"}

// privacyCases starts a second `modelgate serve`, the serve path's config
// plus a privacy section (o.privacyDetectors, action mask), and returns
// its sentences cases at 1 and 64 clients: what the policy adds to a
// request whose text holds no personal data, the common case. Real review
// sentences hold none; a masked one would only change the model's input.
func privacyCases(ctx context.Context, o options, sent *sentences, repo, tmp string, rep *bench.Report) ([]bench.Case, *bench.Serve, func(), error) {
	nothing := func() {}
	dir := filepath.Join(tmp, "serve-privacy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, nothing, err
	}
	metrics, err := freeAddr()
	if err != nil {
		return nil, nil, nothing, err
	}
	privacy := map[string]any{"privacy": map[string]any{"detectors": o.privacyDetectors, "action": "mask"}}
	s, header, stop, err := o.launchServe(ctx, rep, bench.PathServePrivacy, dir, repo, "bench-serve-privacy.log", privacy,
		append(o.sidecarArgs(), "--metrics-addr", metrics))
	if s == nil {
		return nil, nil, nothing, err
	}
	cases := sent.httpCases(bench.PathServePrivacy, []int{1, 64}, s.URL, header,
		bench.SidecarProbe("http://"+metrics+"/metrics", modelSentiment))
	return cases, s, stop, nil
}
