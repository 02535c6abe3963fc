package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

// TestModelPushListPull runs the model subcommands against a real registry:
// push version 2 of the example model (--plain-http after the arguments),
// list it (--plain-http before them) and pull it back byte for byte.
func TestModelPushListPull(t *testing.T) {
	reg := testutil.StartRegistry(t, nil)
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no config.json: anonymous
	sentiment := filepath.Join(testutil.RepoRoot(), "deploy", "models", "sentiment")

	r := runModelgate(t, "model", "push", filepath.Join(sentiment, "2"), reg.Host+"/models/sentiment", "--plain-http")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "pushed "+reg.Host+"/models/sentiment:2@sha256:") {
		t.Fatalf("push: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	digest := strings.Fields(strings.TrimPrefix(r.stdout, "pushed "+reg.Host+"/models/sentiment:2@"))[0]

	r = runModelgate(t, "model", "ls", "--plain-http", reg.Host+"/models")
	if r.code != 0 {
		t.Fatalf("ls: exit %d\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "MODEL") {
		t.Fatalf("ls printed %q, want a header and one version", r.stdout)
	}
	for _, want := range []string{reg.Host + "/models/sentiment", " 2 ", digest, "4af7c901a774", "0.8067", "AFINN"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("ls line %q lacks %q", lines[1], want)
		}
	}

	repoDir := t.TempDir()
	r = runModelgate(t, "model", "pull", reg.Host+"/models/sentiment@"+digest, repoDir, "--plain-http")
	if r.code != 0 {
		t.Fatalf("pull: exit %d\n%s", r.code, r.stderr)
	}
	for _, f := range []string{"config.yaml", "vocab.txt", "labels.txt", "MODEL_CARD.md", "2/model.onnx", "2/model.onnx.sha256"} {
		want, err := os.ReadFile(filepath.Join(sentiment, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(repoDir, "sentiment", f))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("pulled %s differs from the pushed one (%v)", f, err)
		}
	}
}

// TestModelUsageErrors: a missing subcommand, an unknown flag or a wrong
// number of arguments is a usage error (exit 2) naming the problem; a
// registry that cannot be reached is a failure (exit 1).
func TestModelUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"model"}, 2, "name a subcommand"},
		{[]string{"model", "tag"}, 2, `unknown subcommand "tag"`},
		{[]string{"model", "sign", "127.0.0.1:1/m/x:1"}, 2, "sign: --key is required"},
		{[]string{"model", "pull", "--key", "k.pem", "a", "b"}, 2, `unknown flag "--key"`},
		{[]string{"model", "push", "--insecure", "a", "b"}, 2, `unknown flag "--insecure"`},
		{[]string{"model", "pull", "127.0.0.1:1/m/x:1"}, 2, "pull takes 2 arguments, got 1"},
		{[]string{"model", "ls", "--plain-http", "127.0.0.1:1/models"}, 1, "connection refused"},
	} {
		r := runModelgate(t, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("modelgate %q: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
}

// TestModelSignVerify signs a pushed version with a key openssl made (the PEM
// files users have), verifies it with the public key, and refuses it with
// another key and an unsigned version.
func TestModelSignVerify(t *testing.T) {
	reg := testutil.StartRegistry(t, nil)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	sentiment := filepath.Join(testutil.RepoRoot(), "deploy", "models", "sentiment")
	dir := t.TempDir()
	for _, name := range []string{"signer", "other"} {
		key, pub := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".pub")
		for _, args := range [][]string{
			{"ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key},
			{"ec", "-in", key, "-pubout", "-out", pub},
		} {
			if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
				t.Fatalf("openssl %q: %v\n%s", args, err, out)
			}
		}
	}
	for _, v := range []string{"1", "2"} {
		if r := runModelgate(t, "model", "push", "--plain-http", filepath.Join(sentiment, v), reg.Host+"/models/sentiment"); r.code != 0 {
			t.Fatalf("push: exit %d\n%s", r.code, r.stderr)
		}
	}
	ref := reg.Host + "/models/sentiment:2"
	r := runModelgate(t, "model", "sign", "--key", filepath.Join(dir, "signer.pem"), ref, "--plain-http")
	if r.code != 0 || !strings.Contains(r.stdout, ":sha256-") || !strings.Contains(r.stdout, ".sig") {
		t.Fatalf("sign: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, tc := range []struct {
		key, ref string
		code     int
		want     string
	}{
		{"signer.pub", ref, 0, "verified " + reg.Host + "/models/sentiment@sha256:"},
		{"other.pub", ref, 1, "no valid signature"},
		{"signer.pub", reg.Host + "/models/sentiment:1", 1, "not signed"},
	} {
		r := runModelgate(t, "model", "verify", "--plain-http", "--key="+filepath.Join(dir, tc.key), tc.ref)
		if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
			t.Errorf("verify %s with %s: exit %d\n%s%s\nwant exit %d and %q", tc.ref, tc.key, r.code, r.stdout, r.stderr, tc.code, tc.want)
		}
	}

	// cosign's own encrypted key file (the interop fixture), opened with
	// $COSIGN_PASSWORD as cosign does.
	fixtures := filepath.Join(testutil.RepoRoot(), "internal", "registry", "testdata", "cosign")
	v1 := reg.Host + "/models/sentiment:1"
	t.Setenv("COSIGN_PASSWORD", "")
	os.Unsetenv("COSIGN_PASSWORD")
	if r := runModelgate(t, "model", "sign", "--key", filepath.Join(fixtures, "cosign.key"), v1, "--plain-http"); r.code != 1 || !strings.Contains(r.stderr, "COSIGN_PASSWORD") {
		t.Errorf("sign with cosign.key and no password: exit %d\n%s", r.code, r.stderr)
	}
	t.Setenv("COSIGN_PASSWORD", "modelgate-fixture")
	if r := runModelgate(t, "model", "sign", "--key", filepath.Join(fixtures, "cosign.key"), v1, "--plain-http"); r.code != 0 {
		t.Fatalf("sign with cosign.key: exit %d\n%s", r.code, r.stderr)
	}
	if r := runModelgate(t, "model", "verify", "--key", filepath.Join(fixtures, "cosign.pub"), v1, "--plain-http"); r.code != 0 {
		t.Errorf("verify with cosign.pub: exit %d\n%s", r.code, r.stderr)
	}
}
