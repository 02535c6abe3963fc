package privacy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
	"github.com/modelgate/modelgate/shared/tensor"
)

const testHashKey = "0123456789abcdef0123456789abcdef-privacy-test"

func compile(t *testing.T, c Config) *Policy {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	p, err := New(c, secret.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateNamesTheField(t *testing.T) {
	tests := []struct {
		cfg  Config
		want []string
	}{
		{Config{Detectors: []string{"email", "nope", "email"}},
			[]string{`privacy.detectors[1]: unknown detector "nope"`, `privacy.detectors[2]: detector "email" is listed twice`}},
		{Config{Detectors: []string{"email"}, Action: "scramble", Tiers: map[string]TierPolicy{"trial": {}, "free": {Action: "drop"}}},
			[]string{`privacy.action: "scramble" is not one of`, `privacy.tiers.trial.action: required`, `privacy.tiers.free.action: "drop" is not one of`}},
		{Config{Detectors: []string{"email"}, Tiers: map[string]TierPolicy{"trial": {Action: "hash"}}},
			[]string{`privacy.hash_key: required when an action is hash`}},
		{Config{Detectors: []string{"email"}, Action: "hash", HashKey: "a-literal-key"},
			[]string{`privacy.hash_key: secret must be an env:NAME or file:PATH reference`}},
		{Config{Custom: []CustomPattern{{Name: "Employee ID", Pattern: "EMP-[0-9]{6}"}, {Name: "email", Pattern: "x"}}},
			[]string{`privacy.custom[0].name: "Employee ID" is not a pattern name`, `privacy.custom[1].name: "email" is a built-in detector's name`}},
		{Config{Action: "mask"},
			[]string{`privacy.detectors: name at least one detector or custom pattern`}},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if err == nil {
			t.Errorf("%+v: accepted", tt.cfg)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %q lacks %q", tt.cfg, err, w)
			}
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("an absent section: %v", err)
	}
	if (Config{}).Enabled() {
		t.Error("an absent section is enabled")
	}
}

func TestActions(t *testing.T) {
	t.Setenv("MODELGATE_TEST_HASH_KEY", testHashKey)
	text := "mail ana.silva@example.com or bo@example.org, not me@home"
	mac := func(consumer, finding string) string {
		m := hmac.New(sha256.New, []byte(testHashKey))
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(consumer)))
		m.Write(n[:])
		m.Write([]byte(consumer))
		m.Write([]byte(finding))
		return hex.EncodeToString(m.Sum(nil))[:12]
	}
	tests := []struct {
		action Action
		want   string
	}{
		{Mask, "mail <EMAIL> or <EMAIL>, not me@home"},
		{Redact, "mail  or , not me@home"},
		{Hash, "mail <EMAIL:" + mac("alice", "ana.silva@example.com") + "> or <EMAIL:" + mac("alice", "bo@example.org") + ">, not me@home"},
		{Detect, text},
		{Reject, text},
	}
	for _, tt := range tests {
		p := compile(t, Config{Detectors: []string{"email"}, Action: string(tt.action), HashKey: "env:MODELGATE_TEST_HASH_KEY"})
		s := p.Scan("alice", "gold")
		in := []byte(text)
		got := s.Text(in)
		if string(got) != tt.want {
			t.Errorf("%s: %q, want %q", tt.action, got, tt.want)
		}
		if string(in) != text {
			t.Errorf("%s: the input was written to: %q", tt.action, in)
		}
		var counts []string
		s.Each(func(kind string, n int) { counts = append(counts, kind+"="+string(rune('0'+n))) })
		if !slices.Equal(counts, []string{"email=2"}) || !s.Found() || !slices.Equal(s.KindsFound(), []string{"email"}) {
			t.Errorf("%s: counts %v", tt.action, counts)
		}
	}
}

func TestHashIsStablePerConsumer(t *testing.T) {
	key := filepath.Join(t.TempDir(), "hash.key")
	if err := os.WriteFile(key, []byte(testHashKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := compile(t, Config{Detectors: []string{"email"}, Action: "hash", HashKey: "file:" + key})
	hashOf := func(consumer string) string {
		return string(p.Scan(consumer, "").Text([]byte("ana@example.com")))
	}
	a1, a2, b := hashOf("alice"), hashOf("alice"), hashOf("bob")
	if !regexp.MustCompile(`^<EMAIL:[0-9a-f]{12}>$`).MatchString(a1) {
		t.Fatalf("hash token %q", a1)
	}
	if a1 != a2 {
		t.Errorf("one consumer, two hashes: %q %q", a1, a2)
	}
	if a1 == b {
		t.Errorf("two consumers, one hash: %q", a1)
	}
	// The consumer's length is part of the MAC input: "ab"+"c" is not "a"+"bc".
	if x, y := p.Scan("ab", "").Text([]byte("c@example.com")), p.Scan("a", "").Text([]byte("bc@example.com")); string(x) == string(y) {
		t.Errorf("consumer ab's c@... and consumer a's bc@... hash alike: %q", x)
	}
}

func TestHashKeyTooShort(t *testing.T) {
	t.Setenv("MODELGATE_TEST_HASH_KEY", "short")
	c := Config{Detectors: []string{"email"}, Action: "hash", HashKey: "env:MODELGATE_TEST_HASH_KEY"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	_, err := New(c, secret.WatchOptions{})
	if err == nil || !strings.Contains(err.Error(), "privacy.hash_key") || strings.Contains(err.Error(), "short\"") {
		t.Fatalf("New: %v", err)
	}
}

func TestTiersOverrideTheAction(t *testing.T) {
	p := compile(t, Config{Detectors: []string{"email"}, Action: "mask", Tiers: map[string]TierPolicy{"trial": {Action: "reject"}}})
	if a := p.Scan("x", "trial").Action(); a != Reject {
		t.Errorf("trial: %s", a)
	}
	for _, tier := range []string{"gold", ""} {
		if a := p.Scan("x", tier).Action(); a != Mask {
			t.Errorf("tier %q: %s", tier, a)
		}
	}
	if a := compile(t, Config{Detectors: []string{"email"}}).Scan("x", "").Action(); a != Mask {
		t.Errorf("default action %s, want mask", a)
	}
}

func TestElementsRebuildsLengths(t *testing.T) {
	p := compile(t, Config{Detectors: []string{"email"}})
	elems := [][]byte{[]byte("to ana@example.com please"), {}, []byte("nothing here"), []byte("a@b.io,c@d.io")}
	raw := tensor.EncodeBytes(elems)
	orig := slices.Clone(raw)
	s := p.Scan("alice", "")
	out, err := s.Elements(raw, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(raw, orig) {
		t.Fatal("the input was written to")
	}
	got, err := tensor.DecodeBytes(out, int64(len(elems)))
	if err != nil {
		t.Fatalf("rebuilt data does not decode: %v", err)
	}
	want := []string{"to <EMAIL> please", "", "nothing here", "<EMAIL>,<EMAIL>"}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("element %d: %q, want %q", i, got[i], want[i])
		}
	}
	var n int
	s.Each(func(_ string, c int) { n += c })
	if n != 3 {
		t.Errorf("counted %d findings, want 3", n)
	}

	// Nothing found: the same data, nothing allocated.
	clean := tensor.EncodeBytes([][]byte{[]byte("just words"), []byte("and more words")})
	s = p.Scan("alice", "")
	if allocs := testing.AllocsPerRun(20, func() {
		if out, err := s.Elements(clean, 1<<20); err != nil || &out[0] != &clean[0] {
			t.Fatal("clean data was copied")
		}
	}); allocs != 0 {
		t.Errorf("%v allocations for a text with nothing found", allocs)
	}

	// Growth past the limit is refused, malformed data too.
	if _, err := p.Scan("alice", "").Elements(tensor.EncodeBytes([][]byte{[]byte("a@b.io")}), 10); err == nil {
		t.Error("rewritten data over the limit accepted")
	}
	if _, err := p.Scan("alice", "").Elements([]byte{9, 0, 0, 0, 'a'}, 1<<20); err == nil {
		t.Error("a length prefix past the end accepted")
	}
}
