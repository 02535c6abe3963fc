package auth

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestKeygen(t *testing.T) {
	var out bytes.Buffer
	if err := Keygen(&out, "alice", "gold"); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	key := regexp.MustCompile(`(?m)^mg_[A-Za-z0-9_-]{43}$`).FindString(text)
	if key == "" {
		t.Fatalf("no key line in:\n%s", text)
	}
	if strings.Count(text, key) != 1 {
		t.Fatalf("the key is printed more than once:\n%s", text)
	}
	m := regexp.MustCompile(`(?m)^- name: alice\n  tier: gold\n  key_sha256: \["([0-9a-f]{64})"\]$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no config entry in:\n%s", text)
	}
	if m[1] != digest(key) {
		t.Fatalf("config digest %s is not the SHA-256 of the printed key", m[1])
	}

	// The printed entry authenticates the printed key.
	a, err := New(Config{Consumers: []Consumer{{Name: "alice", Tier: "gold", KeySHA256: []string{m[1]}}}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.Authenticate(http.Header{"Apikey": {key}})
	if err != nil || id.Consumer != "alice" {
		t.Fatalf("Authenticate with the generated key: %+v, %v", id, err)
	}
}

func TestKeygenFreshKeysAndDefaults(t *testing.T) {
	var a, b bytes.Buffer
	if err := Keygen(&a, "svc.batch-1", ""); err != nil {
		t.Fatal(err)
	}
	if err := Keygen(&b, "svc.batch-1", ""); err != nil {
		t.Fatal(err)
	}
	if a.String() == b.String() {
		t.Fatal("two keygen runs printed the same key")
	}
	if !strings.Contains(a.String(), "  tier: "+DefaultKeygenTier+"\n") {
		t.Fatalf("default tier missing:\n%s", a.String())
	}
}

func TestKeygenRefusesUnsafeNames(t *testing.T) {
	for _, name := range []string{"", "a b", "x: y", "-dash", "{brace}", strings.Repeat("n", 129), "new\nline"} {
		if err := Keygen(&bytes.Buffer{}, name, "free"); err == nil {
			t.Errorf("Keygen accepted consumer %q", name)
		}
	}
	if err := Keygen(&bytes.Buffer{}, "ok", "bad tier"); err == nil {
		t.Error("Keygen accepted tier \"bad tier\"")
	}
}
