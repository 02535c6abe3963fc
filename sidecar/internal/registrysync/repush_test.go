package registrysync

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared/tensor"
	"github.com/modelgate/modelgate/sidecar/internal/repository"
)

// adderSum runs the repository's adder version on a=[1,2,3,4],
// b=[10,20,30,40] and returns sum[0]: 11 + version - 1 for the test model's
// versions.
func adderSum(t *testing.T, r *repository.Repository, version string) float32 {
	t.Helper()
	s, release, err := r.Acquire("adder", version)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	out, err := s.Infer(context.Background(), []tensor.Tensor{
		testutil.FP32Tensor("a", []int64{1, 4}, 1, 2, 3, 4),
		testutil.FP32Tensor("b", []int64{1, 4}, 10, 20, 30, 40),
	}, []string{"sum"})
	if err != nil {
		t.Fatal(err)
	}
	return testutil.Float32s(out[0].Raw)[0]
}

// TestRepushedTag: a version's tag pushed again with other files is pulled
// again once signed (refused while unsigned, the old files serving on), and
// the repository reloads the version: the index shows the new digest, the
// version answers with the new model, the replaced folder is gone.
func TestRepushedTag(t *testing.T) {
	reg, client := startRegistry(t)
	ctx := context.Background()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	src := adderSource(t)
	name := reg.Host + "/models/adder"
	push := func(dir string) string {
		t.Helper()
		p, err := client.Push(ctx, dir, name)
		if err != nil {
			t.Fatal(err)
		}
		return p.Digest.String()
	}
	sign := func(tag string) {
		t.Helper()
		if _, err := client.Sign(ctx, name+":"+tag, key); err != nil {
			t.Fatal(err)
		}
	}
	push(filepath.Join(src, "1"))
	sign("1")
	first := push(filepath.Join(src, "2"))
	sign("2")
	var log bytes.Buffer
	models := t.TempDir()
	s, err := New(Options{Client: client, Namespace: reg.Host + "/models", Models: []string{"adder"}, Dir: models,
		Key: &key.PublicKey, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	repo := openRepository(t, s)
	if _, err := s.Sync(ctx, repo); err != nil {
		t.Fatal(err)
	}
	if got := indexOf(repo, "adder")["2"].Digest; got != first {
		t.Fatalf("version 2 indexed with digest %q, want %s", got, first)
	}
	if sum := adderSum(t, repo, "2"); sum != 12 {
		t.Fatalf("version 2 answered %v, want 12", sum)
	}

	// Version 2 pushed again, with version 3's model: unsigned, it is refused.
	again := filepath.Join(t.TempDir(), "adder")
	for _, f := range []string{"config.yaml", "3/model.onnx", "3/model.onnx.sha256"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(again, strings.Replace(f, "3/", "2/", 1)), b)
	}
	second := push(filepath.Join(again, "2"))
	if second == first {
		t.Fatal("the re-push has the first push's digest")
	}
	if _, err := s.Sync(ctx, repo); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Errorf("sync with version 2 re-pushed unsigned: %v", err)
	}
	if e := indexOf(repo, "adder")["2"]; e.Digest != first || e.State != repository.StateReady || adderSum(t, repo, "2") != 12 {
		t.Errorf("after the unsigned re-push version 2 is %+v; want the first push serving", e)
	}

	// Signed, it replaces the version: reloaded from the new files.
	sign("2")
	if changed, err := s.Sync(ctx, repo); err != nil || !changed {
		t.Fatalf("sync after signing the re-push: changed %v, %v", changed, err)
	}
	if e := indexOf(repo, "adder")["2"]; e.Digest != second || e.State != repository.StateReady || e.Source != repository.SourceRegistry {
		t.Errorf("after the signed re-push version 2 is %+v; want READY with digest %s", e, second)
	}
	if sum := adderSum(t, repo, "2"); sum != 13 {
		t.Errorf("version 2 answered %v after the re-push, want 13 (the new model)", sum)
	}
	if !strings.Contains(log.String(), "re-pushed") || !strings.Contains(log.String(), second) {
		t.Errorf("the re-push is not logged with its digest:\n%s", log.String())
	}
	if entries, err := os.ReadDir(filepath.Join(models, stateDir, asideDir)); err == nil && len(entries) > 0 {
		t.Errorf("the replaced folder is still there: %v", entries)
	}
	if changed, err := s.Sync(ctx, repo); err != nil || changed {
		t.Errorf("a sync with nothing new: changed %v, %v", changed, err)
	}
}
