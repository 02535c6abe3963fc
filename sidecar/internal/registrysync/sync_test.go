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
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelgate/modelgate/internal/registry"
	"github.com/modelgate/modelgate/internal/testutil"
)

// adderSource writes a model folder "adder" holding the test model's versions
// 1-3 (and 4, a copy of 3: the same blobs) with a latest-2 version policy.
func adderSource(t *testing.T) string {
	t.Helper()
	src := filepath.Join(testutil.TestModels(), "adder")
	dir := filepath.Join(t.TempDir(), "adder")
	cfg, err := os.ReadFile(filepath.Join(src, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.Replace(cfg, []byte("version_policy:\n  all: true"), []byte("version_policy:\n  latest: 2"), 1)
	if !bytes.Contains(cfg, []byte("latest: 2")) {
		t.Fatal("the adder's config.yaml no longer has the policy this test rewrites")
	}
	write(t, filepath.Join(dir, "config.yaml"), cfg)
	for v, from := range map[string]string{"1": "1", "2": "2", "3": "3", "4": "3"} {
		for _, f := range []string{"model.onnx", "model.onnx.sha256"} {
			b, err := os.ReadFile(filepath.Join(src, from, f))
			if err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, v, f), b)
		}
	}
	return dir
}

// startRegistry starts a real registry without authentication, and a
// client for it with an empty docker config.
func startRegistry(t *testing.T) (*testutil.Registry, *registry.Client) {
	t.Helper()
	reg := testutil.StartRegistry(t, nil)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	client, err := registry.NewClient(true)
	if err != nil {
		t.Fatal(err)
	}
	return reg, client
}

func write(t *testing.T, file string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func versionsIn(t *testing.T, modelDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestSync runs a syncer against a real registry through a model's life:
// the policy's versions pulled and verified, nothing fetched twice, an
// unsigned and a wrongly signed version refused, the registry stopped (the
// versions stay) and restarted, and a new version replacing the oldest.
func TestSync(t *testing.T) {
	reg, client := startRegistry(t)
	ctx := context.Background()
	signer, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	src := adderSource(t)
	name := reg.Host + "/models/adder"
	push := func(v string, key *ecdsa.PrivateKey) {
		t.Helper()
		if _, err := client.Push(ctx, filepath.Join(src, v), name); err != nil {
			t.Fatal(err)
		}
		if key != nil {
			if _, err := client.Sign(ctx, name+":"+v, key); err != nil {
				t.Fatal(err)
			}
		}
	}
	push("1", signer)
	push("2", signer)

	models := t.TempDir()
	promReg := prometheus.NewRegistry()
	s, err := New(Options{Client: client, Namespace: reg.Host + "/models", Models: []string{"adder"}, Dir: models,
		Key: &signer.PublicKey, Registry: promReg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	repo := openRepository(t, s)
	pulls := func(outcome string) float64 { return promtest.ToFloat64(s.pulls.WithLabelValues("adder", outcome)) }
	fetched := func() float64 { return promtest.ToFloat64(s.bytes.WithLabelValues("adder")) }

	changed, err := s.Sync(ctx, repo)
	if err != nil || !changed {
		t.Fatalf("first sync: changed %v, %v", changed, err)
	}
	if got := versionsIn(t, filepath.Join(models, "adder")); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("pulled %v, want 1 and 2", got)
	}
	for _, f := range []string{"config.yaml", "1/model.onnx", "2/model.onnx", "2/model.onnx.sha256"} {
		want, _ := os.ReadFile(filepath.Join(src, f))
		got, err := os.ReadFile(filepath.Join(models, "adder", f))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from the pushed file (%v)", f, err)
		}
	}
	if pulls("ok") != 2 || fetched() == 0 {
		t.Errorf("after the first sync: %v pulls ok, %v bytes", pulls("ok"), fetched())
	}
	before := fetched()
	if changed, err := s.Sync(ctx, repo); err != nil || changed {
		t.Errorf("second sync: changed %v, %v; want nothing to do", changed, err)
	}

	// Version 3 unsigned, then signed by a stranger: refused either way; 1 and 2 stay.
	push("3", nil)
	if _, err := s.Sync(ctx, repo); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Errorf("sync with an unsigned version 3: %v", err)
	}
	if _, err := client.Sign(ctx, name+":3", stranger); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sync(ctx, repo); err == nil || !strings.Contains(err.Error(), "no valid signature") {
		t.Errorf("sync with version 3 signed by another key: %v", err)
	}
	if got := versionsIn(t, filepath.Join(models, "adder")); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("after refusals the folder holds %v, want 1 and 2", got)
	}
	if pulls("refused") != 2 {
		t.Errorf("%v pulls refused, want 2", pulls("refused"))
	}

	// The registry down: the sync fails, the versions stay.
	reg.Stop()
	if _, err := s.Sync(ctx, repo); err == nil {
		t.Error("sync with the registry down succeeded")
	}
	if got := versionsIn(t, filepath.Join(models, "adder")); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("with the registry down the folder holds %v, want 1 and 2", got)
	}
	if f := promtest.ToFloat64(s.failures.WithLabelValues("adder")); f != 3 {
		t.Errorf("%v failed syncs, want 3", f)
	}
	reg.Start(t)

	// Version 3 properly signed, and 4 (3's blobs): policy latest 2 keeps 3 and 4,
	// removes 1 and 2; version 4's files come from the cache.
	if _, err := client.Sign(ctx, name+":3", signer); err != nil {
		t.Fatal(err)
	}
	if changed, err := s.Sync(ctx, repo); err != nil || !changed {
		t.Fatalf("sync after signing 3: changed %v, %v", changed, err)
	}
	after3 := fetched()
	if after3 <= before {
		t.Errorf("version 3 fetched no bytes")
	}
	push("4", signer)
	if changed, err := s.Sync(ctx, repo); err != nil || !changed {
		t.Fatalf("sync after pushing 4: changed %v, %v", changed, err)
	}
	if got := versionsIn(t, filepath.Join(models, "adder")); !slices.Equal(got, []string{"3", "4"}) {
		t.Errorf("after version 4 the folder holds %v, want 3 and 4", got)
	}
	if fetched() != after3 {
		t.Errorf("version 4, made of version 3's blobs, fetched %v bytes again", fetched()-after3)
	}
	blobs, err := os.ReadDir(filepath.Join(models, stateDir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	// config.yaml once, 3's model.onnx and its .sha256 (4 links to them); 1's and 2's pruned.
	if len(blobs) != 3 {
		t.Errorf("the cache holds %d blobs, want 3", len(blobs))
	}
}
