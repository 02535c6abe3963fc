package registrysync

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestPolicyComesFromSignedVersion: with a key, an unsigned newer version
// whose config.yaml names other versions does not choose what the node
// serves: the policy of the newest signed version still applies, and no
// pulled version is removed.
func TestPolicyComesFromSignedVersion(t *testing.T) {
	reg, client := startRegistry(t)
	ctx := context.Background()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	src := adderSource(t)
	name := reg.Host + "/models/adder"
	for _, v := range []string{"1", "2"} {
		if _, err := client.Push(ctx, filepath.Join(src, v), name); err != nil {
			t.Fatal(err)
		}
		if _, err := client.Sign(ctx, name+":"+v, key); err != nil {
			t.Fatal(err)
		}
	}
	models := t.TempDir()
	s, err := New(Options{Client: client, Namespace: reg.Host + "/models", Models: []string{"adder"}, Dir: models,
		Key: &key.PublicKey, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	repo := openRepository(t, s)
	if _, err := s.Sync(ctx, repo); err != nil {
		t.Fatal(err)
	}

	// Version 3, unsigned, whose config.yaml wants version 1 only.
	cfg, err := os.ReadFile(filepath.Join(src, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	hostile := filepath.Join(t.TempDir(), "adder")
	write(t, filepath.Join(hostile, "config.yaml"), bytes.Replace(cfg, []byte("latest: 2"), []byte(`specific: ["1"]`), 1))
	for _, f := range []string{"model.onnx", "model.onnx.sha256"} {
		b, err := os.ReadFile(filepath.Join(src, "3", f))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(hostile, "3", f), b)
	}
	if _, err := client.Push(ctx, filepath.Join(hostile, "3"), name); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sync(ctx, repo); err == nil {
		t.Error("sync with an unsigned version 3 succeeded")
	}
	if got := versionsIn(t, filepath.Join(models, "adder")); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("the folder holds %v, want 1 and 2 (the signed policy, latest 2, with 3 refused)", got)
	}
}
