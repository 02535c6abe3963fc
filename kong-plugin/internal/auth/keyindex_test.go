package auth

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
)

// TestKeyDigestOnTwoConsumers: a key digest listed for two consumers,
// inline or in file: lists, is refused at start, naming both; a digest
// file that later gains another consumer's digest makes that key serve
// neither (logged, naming both), while every other key keeps working.
func TestKeyDigestOnTwoConsumers(t *testing.T) {
	shared, own := "mg_test_shared_key_0123456789ab", "mg_test_alice_own_key_012345678"
	aliceFile := writeFile(t, "alice.sha256", []byte(digest(own)+"\n"+digest(shared)+"\n"))
	for _, tc := range []struct {
		name       string
		alice, bob []string
		want       string
	}{
		{"inline twice", []string{digest(shared)}, []string{digest(shared)}, `auth.consumers[1].key_sha256[0]: the same key is already listed for consumer "alice"`},
		{"inline and a file", []string{aliceFile}, []string{digest(shared)}, `listed for both consumer "bob" (key_sha256) and consumer "alice" (file:` + aliceFile[len("file:"):] + ")"},
		{"two files", []string{aliceFile}, []string{writeFile(t, "bob.sha256", []byte(digest(shared)+"\n"))}, `consumer "alice" (` + aliceFile + `) and consumer "bob" (file:`},
	} {
		_, err := New(Config{Consumers: []Consumer{
			{Name: "alice", Tier: "free", KeySHA256: tc.alice}, {Name: "bob", Tier: "free", KeySHA256: tc.bob}}})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), digest(shared)) {
			t.Errorf("%s: %v; want a refusal naming both consumers: %s", tc.name, err, tc.want)
		}
	}
	// The same consumer listing a digest twice is no conflict.
	if _, err := New(Config{Consumers: []Consumer{{Name: "alice", Tier: "free", KeySHA256: []string{digest(shared), aliceFile}}}}); err != nil {
		t.Errorf("one consumer, one digest twice: %v", err)
	}

	mount := newKubeletDir(t, map[string][]byte{"bob.sha256": []byte("# bob\n" + digest("mg_test_bob_key_0123456789abcde") + "\n")})
	var logs strings.Builder
	a, err := New(Config{Consumers: []Consumer{
		{Name: "alice", Tier: "free", KeySHA256: []string{aliceFile}},
		{Name: "bob", Tier: "free", KeySHA256: []string{"file:" + mount.dir + "/bob.sha256"}}}},
		WithSecretWatch(secret.WatchOptions{CheckInterval: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil))}))
	if err != nil {
		t.Fatal(err)
	}
	consumer := func(key string) string {
		id, err := a.Authenticate(http.Header{"Apikey": {key}})
		if err != nil {
			return ""
		}
		return id.Consumer
	}
	if got := consumer(shared); got != "alice" {
		t.Fatalf("before the update: %q", got)
	}
	mount.update(map[string][]byte{"bob.sha256": []byte(digest(shared) + "\n")})
	if got := consumer(shared); got != "" {
		t.Errorf("a key on two consumers served as %q", got)
	}
	if got := consumer(own); got != "alice" {
		t.Errorf("alice's other key: %q", got)
	}
	if got := consumer("mg_test_bob_key_0123456789abcde"); got != "" {
		t.Errorf("bob's removed key served as %q", got)
	}
	if l := logs.String(); !strings.Contains(l, `consumer \"alice\"`) || !strings.Contains(l, `consumer \"bob\"`) || strings.Contains(l, digest(shared)) {
		t.Errorf("log %q: want both consumers named, never the digest", l)
	}
}

// BenchmarkKeyMiss is an unknown key's lookup with 100 consumers' digest
// files: one map read, not one per file.
func BenchmarkKeyMiss(b *testing.B) {
	var consumers []Consumer
	for i := range 100 {
		name := "c" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
		consumers = append(consumers, Consumer{Name: name, Tier: "free",
			KeySHA256: []string{writeFile(b, name+".sha256", []byte(digest("mg_bench_key_"+name)+"\n"))}})
	}
	a, err := New(Config{Consumers: consumers})
	if err != nil {
		b.Fatal(err)
	}
	h := http.Header{"Apikey": {"mg_bench_unknown_key_0123456789"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(h); err == nil {
			b.Fatal("an unknown key was accepted")
		}
	}
}
