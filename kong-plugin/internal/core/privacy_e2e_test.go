package core

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelgate/modelgate/bench"
	"github.com/modelgate/modelgate/internal/oiptest"
	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/apis"
	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/privacy"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/kong-plugin/internal/quota"
	"github.com/modelgate/modelgate/shared/tensor"
)

// Consumers of the privacy tests, each on a tier with its own action:
// alice (gold) masks, pat and quinn (free) hash, rory (trial) is refused.
// Quota counters outlive configs, so the names are these tests' own.
const (
	keyPat   = "mg_test_privacy_pat_0123456789"
	keyQuinn = "mg_test_privacy_quinn_0123456789"
	keyRory  = "mg_test_privacy_rory_0123456789"
)

const privacyHashKeyEnv = "MODELGATE_TEST_PRIVACY_HASH_KEY"

// privacyConfig has its own quotas section, so its counters are its own.
func privacyConfig(t testing.TB) config.Config {
	t.Setenv(privacyHashKeyEnv, "privacy-e2e-hash-key-0123456789abcdef")
	return config.Config{
		Sidecar: testSidecar(t),
		Auth: auth.Config{Consumers: []auth.Consumer{
			{Name: "alice", Tier: "gold", KeySHA256: []string{digest(keyAlice)}},
			{Name: "pat", Tier: "free", KeySHA256: []string{digest(keyPat)}},
			{Name: "quinn", Tier: "free", KeySHA256: []string{digest(keyQuinn)}},
			{Name: "rory", Tier: "trial", KeySHA256: []string{digest(keyRory)}},
		}},
		Quotas: quota.Config{Policy: "local", Tiers: []quota.Tier{{Name: "gold"}, {Name: "free", Day: 100000}, {Name: "trial", Day: 2}}},
		Privacy: privacy.Config{
			Detectors: []string{"email"},
			Action:    "mask",
			HashKey:   "env:" + privacyHashKeyEnv,
			Tiers:     map[string]privacy.TierPolicy{"free": {Action: "hash"}, "trial": {Action: "reject"}},
		},
	}
}

// identityJSON is an OIP JSON request for identity_types (which wants all
// its inputs, each [1, 2]) whose BYTES input holds texts.
func identityJSON(texts [2]string) string {
	var inputs []string
	for _, dt := range []string{"FP32", "FP64", "FP16", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "BOOL", "BYTES"} {
		data := "[0,0]"
		switch dt {
		case "BOOL":
			data = "[false,false]"
		case "BYTES":
			b, _ := json.Marshal(texts)
			data = string(b)
		}
		inputs = append(inputs, fmt.Sprintf(`{"name":"in_%s","datatype":"%s","shape":[1,2],"data":%s}`, strings.ToLower(dt), dt, data))
	}
	return `{"inputs":[` + strings.Join(inputs, ",") + `]}`
}

// echoedJSON sends texts to identity_types as JSON and returns what the
// model received, which it echoes.
func echoedJSON(t *testing.T, g *Gateway, key string, texts [2]string) ([]string, protocol.Response) {
	t.Helper()
	res := call(g, "POST", "/v2/models/identity_types/infer", key, identityJSON(texts))
	var got []string
	if err := json.Unmarshal(decodeResult(t, res).output(t, "out_bytes"), &got); err != nil {
		t.Fatal(err)
	}
	return got, res
}

func TestPrivacyMasksWhatReachesTheModel(t *testing.T) {
	g := startGateway(t, privacyConfig(t))
	before := promtest.ToFloat64(g.metrics.privacyFindings.WithLabelValues("email", "mask"))

	// OIP JSON: the BYTES data.
	got, res := echoedJSON(t, g, keyAlice, [2]string{"write to ana.silva@example.com or bo@example.org", "no personal data here"})
	if want := []string{"write to <EMAIL> or <EMAIL>", "no personal data here"}; !slices.Equal(got, want) {
		t.Errorf("the model received %q, want %q", got, want)
	}
	a := res.Audit
	if a.Consumer != "alice" || a.Model != "identity_types" || a.Version != "1" || a.Status != 200 || a.Items != 1 ||
		a.Action != "mask" || !slices.Equal(a.Findings, []protocol.Finding{{Kind: "email", Count: 2}}) || a.Latency <= 0 {
		t.Errorf("audit record %+v", a)
	}
	if n := promtest.ToFloat64(g.metrics.privacyFindings.WithLabelValues("email", "mask")) - before; n != 2 {
		t.Errorf("modelgate_privacy_findings_total{kind=email,action=mask} grew by %v, want 2", n)
	}

	// OIP binary: the BYTES elements' lengths change, the tensor is rebuilt.
	req := oiptest.Request{BinaryDataOutput: true}
	for _, dt := range []tensor.DataType{tensor.FP32, tensor.FP64, tensor.FP16, tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64,
		tensor.UInt8, tensor.UInt16, tensor.UInt32, tensor.UInt64, tensor.Bool, tensor.Bytes} {
		raw := make([]byte, 2*dt.Size())
		if dt == tensor.Bytes {
			raw = oiptest.BytesElements("a@b.io", "mail x.y@example.com, then z@example.net.")
		}
		req.Inputs = append(req.Inputs, oiptest.Input{Name: "in_" + strings.ToLower(string(dt)), Datatype: string(dt),
			Shape: []int64{1, 2}, Raw: raw, Binary: true})
	}
	_, r := tritonCall(t, g, "/v2/models/identity_types/infer", req, nil, "")
	o, _ := r.Output("out_bytes")
	if s, err := o.Strings(); err != nil || !slices.Equal(s, []string{"<EMAIL>", "mail <EMAIL>, then <EMAIL>."}) {
		t.Errorf("binary: the model received %q (%v)", s, err)
	}
}

// TestPrivacyPredict: :predict text and instances decode into the text
// model's BYTES input, so they are masked too. The sentiment model's
// answer shows what it read: "great@great.com" is three positive words,
// "<EMAIL>" one unknown word.
func TestPrivacyPredict(t *testing.T) {
	masked := startGateway(t, privacyConfig(t))
	plainCfg := privacyConfig(t)
	plainCfg.Privacy = privacy.Config{}
	plain := startGateway(t, plainCfg)
	for _, body := range []string{`{"text":%q}`, `{"instances":[%q]}`} {
		answer := func(g *Gateway, text string) string {
			res := call(g, "POST", "/v1/models/text_sentiment:predict", keyAlice, fmt.Sprintf(body, text))
			if res.Status != http.StatusOK {
				t.Fatalf("%d %s", res.Status, res.Body)
			}
			return string(res.Body)
		}
		got, asMask, raw := answer(masked, "great@great.com"), answer(plain, "<EMAIL>"), answer(plain, "great@great.com")
		if got != asMask || got == raw {
			t.Errorf("%s: with privacy %s, the model's answer to <EMAIL> %s, to the address %s", body, got, asMask, raw)
		}
	}
}

func TestPrivacyHashIsStablePerConsumer(t *testing.T) {
	g := startGateway(t, privacyConfig(t))
	text := [2]string{"ana@example.com", "ana@example.com again"}
	pat1, res := echoedJSON(t, g, keyPat, text)
	pat2, _ := echoedJSON(t, g, keyPat, text)
	quinn, _ := echoedJSON(t, g, keyQuinn, text)
	token := regexp.MustCompile(`^<EMAIL:[0-9a-f]{12}>`)
	if !token.MatchString(pat1[0]) || pat1[1] != pat1[0]+" again" {
		t.Fatalf("pat's texts reached the model as %q", pat1)
	}
	if !slices.Equal(pat1, pat2) {
		t.Errorf("one consumer, two hashes: %q %q", pat1, pat2)
	}
	if quinn[0] == pat1[0] || !token.MatchString(quinn[0]) {
		t.Errorf("pat's %q and quinn's %q", pat1[0], quinn[0])
	}
	if res.Audit.Action != "hash" {
		t.Errorf("audit action %q, want hash (tier free)", res.Audit.Action)
	}
}

// TestPrivacyRejectKeepsTheQuotaCharge: the trial tier's action is reject;
// a refused request names the kinds, never the text, and counts against
// the consumer's quota (two a day here), as it was charged before its data
// was decoded.
func TestPrivacyRejectKeepsTheQuotaCharge(t *testing.T) {
	g := startGateway(t, privacyConfig(t))
	before := promtest.ToFloat64(g.metrics.privacyRejections)
	for i := 0; i < 2; i++ {
		res := call(g, "POST", "/v2/models/identity_types/infer", keyRory, identityJSON([2]string{"I am rory@example.com", "hi"}))
		body := string(res.Body)
		if res.Status != http.StatusBadRequest || !strings.Contains(body, "personal data (email)") || strings.Contains(body, "rory@") {
			t.Fatalf("request %d: %d %s", i, res.Status, body)
		}
		if a := res.Audit; a.Action != "reject" || a.Status != 400 || !slices.Equal(a.Findings, []protocol.Finding{{Kind: "email", Count: 1}}) {
			t.Errorf("audit record %+v", a)
		}
	}
	if n := promtest.ToFloat64(g.metrics.privacyRejections) - before; n != 2 {
		t.Errorf("modelgate_privacy_rejections_total grew by %v, want 2", n)
	}
	res := call(g, "POST", "/v2/models/identity_types/infer", keyRory, identityJSON([2]string{"nothing", "personal"}))
	if res.Status != http.StatusTooManyRequests {
		t.Errorf("a third request on a quota of 2 after two refusals: %d %s", res.Status, res.Body)
	}
}

func TestPrivacyOffWhenAbsent(t *testing.T) {
	cfg := privacyConfig(t)
	cfg.Privacy = privacy.Config{}
	g := startGateway(t, cfg)
	if g.Audits() {
		t.Error("no privacy section and no audit: the gateway audits")
	}
	text := [2]string{"ana@example.com", "x"}
	got, res := echoedJSON(t, g, keyAlice, text)
	if !slices.Equal(got, text[:]) {
		t.Errorf("the model received %q", got)
	}
	if res.Audit.Action != "" || res.Audit.Findings != nil {
		t.Errorf("audit record %+v", res.Audit)
	}
	// The public endpoints have no audit record.
	if res := g.Handle(context.Background(), apis.Router, protocol.Request{Method: "GET", Path: "/v2/health/ready"}); res.Audit.Status != 0 {
		t.Errorf("health check audit %+v", res.Audit)
	}
}

// TestPrivacyMasksTheShadowCopy: the shadow version gets the masked inputs,
// never the text as sent. identity_types as versions 1 and 2 both echo what
// they receive; the primary's echo is masked, so a shadow answer agrees only
// when the shadow received the masked text too (the unmasked echo differs).
func TestPrivacyMasksTheShadowCopy(t *testing.T) {
	repo := t.TempDir()
	src := filepath.Join(testutil.TestModels(), "identity_types")
	for _, v := range []string{"1", "2"} {
		if err := bench.CopyTree(filepath.Join(src, "1"), filepath.Join(repo, "identity_types", v)); err != nil {
			t.Fatal(err)
		}
	}
	conf, err := os.ReadFile(filepath.Join(src, "config.yaml"))
	if err == nil {
		conf = append(conf, "\nversion_policy:\n  all: true\n"...)
		err = os.WriteFile(filepath.Join(repo, "identity_types", "config.yaml"), conf, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg := privacyConfig(t)
	cfg.Sidecar.Args[1] = repo // --models
	cfg.Models = []config.Model{{Name: "identity_types", Aliases: map[string]string{"stable": "1"}, DefaultAlias: "stable",
		Shadow: config.Shadow{Target: "2", Percent: 100}}}
	g := startGateway(t, cfg)
	agreed := g.metrics.shadow.WithLabelValues("identity_types", "1", "2", shadowAgree)
	disagreed := g.metrics.shadow.WithLabelValues("identity_types", "1", "2", shadowDisagree)
	before, beforeDis := value(agreed), value(disagreed)
	const n = 3
	for range n {
		got, _ := echoedJSON(t, g, keyAlice, [2]string{"mail ana@example.com", "or bo@example.org"})
		if want := []string{"mail <EMAIL>", "or <EMAIL>"}; !slices.Equal(got, want) {
			t.Fatalf("the primary version received %q, want %q", got, want)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for value(agreed)+value(disagreed)-before-beforeDis < n {
		if time.Now().After(deadline) {
			t.Fatalf("shadow answers: %v agree, %v disagree, want %d in all", value(agreed)-before, value(disagreed)-beforeDis, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if a, d := value(agreed)-before, value(disagreed)-beforeDis; a != n || d != 0 {
		t.Errorf("shadow answers: %v agree, %v disagree: the shadow version did not receive the masked text", a, d)
	}
}

// TestPrivacyHashKeyInTheConfigFolder: a hash_key file beside the config,
// allowed by the config's own folder and not by MODELGATE_SECRET_DIRS, is
// read under the folders validation allowed (it was refused when the
// gateway was built, after validation had accepted it).
func TestPrivacyHashKeyInTheConfigFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hash.key"), []byte("privacy-config-folder-hash-key-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(testutil.SecretDirsEnv, testutil.TestModels())
	SetConfigFolder(dir)
	t.Cleanup(func() { SetConfigFolder("") })
	cfg := privacyConfig(t)
	cfg.Privacy.HashKey = "file:" + filepath.Join(dir, "hash.key")
	g := startGateway(t, cfg)
	got, _ := echoedJSON(t, g, keyPat, [2]string{"ana@example.com", "no address"})
	if !regexp.MustCompile(`^<EMAIL:[0-9a-f]{12}>$`).MatchString(got[0]) {
		t.Errorf("pat (tier free, hash) sent an address; the model received %q", got)
	}
}
