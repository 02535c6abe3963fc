package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os/exec"
	"regexp"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

// TestKeygen runs `modelgate keygen` and checks that the config entry it
// prints holds the SHA-256 of the key it prints, and never the key.
func TestKeygen(t *testing.T) {
	out, err := exec.Command(testutil.Binary(t, "modelgate"), "keygen", "--consumer", "alice", "--tier", "gold").Output()
	if err != nil {
		t.Fatal(err)
	}
	key := regexp.MustCompile(`(?m)^(mg_\S+)$`).FindSubmatch(out)
	digest := regexp.MustCompile(`key_sha256: \["([0-9a-f]{64})"\]`).FindSubmatch(out)
	if key == nil || digest == nil || !regexp.MustCompile(`name: alice\s+tier: gold`).Match(out) {
		t.Fatalf("keygen printed:\n%s", out)
	}
	sum := sha256.Sum256(key[1])
	if hex.EncodeToString(sum[:]) != string(digest[1]) {
		t.Errorf("the digest is not the key's SHA-256:\n%s", out)
	}
	if err := exec.Command(testutil.Binary(t, "modelgate"), "keygen").Run(); err == nil {
		t.Error("keygen without --consumer succeeded")
	}
}
