package registrysync

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelgate/modelgate/internal/registry"
)

func newSyncer(t *testing.T, client *registry.Client, namespace, dir string) *Syncer {
	t.Helper()
	s, err := New(Options{Client: client, Namespace: namespace, Models: []string{"adder"}, Dir: dir,
		Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSyncTamperedAndConcurrent: two nodes (syncers with their own folders)
// pulling a version at once both get it; a model file whose bytes the
// registry changed fails its digest, and that version is counted refused and
// never appears.
func TestSyncTamperedAndConcurrent(t *testing.T) {
	reg, client := startRegistry(t)
	ctx := context.Background()
	src := adderSource(t)
	if _, err := client.Push(ctx, filepath.Join(src, "1"), reg.Host+"/models/adder"); err != nil {
		t.Fatal(err)
	}

	// Two nodes at once, each with its own folder and cache.
	var wg sync.WaitGroup
	dirs := []string{t.TempDir(), t.TempDir()}
	errs := make([]error, len(dirs))
	for i, dir := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newSyncer(t, client, reg.Host+"/models", dir)
			_, errs[i] = s.Sync(ctx, openRepository(t, s))
		}()
	}
	wg.Wait()
	for i, dir := range dirs {
		if errs[i] != nil {
			t.Errorf("node %d: %v", i, errs[i])
		}
		if got := versionsIn(t, filepath.Join(dir, "adder")); !slices.Equal(got, []string{"1"}) {
			t.Errorf("node %d holds %v, want version 1", i, got)
		}
	}

	// Version 2's model.onnx tampered with in the registry's storage.
	if _, err := client.Push(ctx, filepath.Join(src, "2"), reg.Host+"/models/adder"); err != nil {
		t.Fatal(err)
	}
	model, err := os.ReadFile(filepath.Join(src, "2", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	want := digest.FromBytes(model)
	blob := reg.BlobFile(want.String())
	model[len(model)/2] ^= 0xff
	if err := os.WriteFile(blob, model, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := newSyncer(t, client, reg.Host+"/models", dir)
	if _, err := s.Sync(ctx, openRepository(t, s)); err == nil {
		t.Fatal("sync of a tampered version succeeded")
	}
	if got := versionsIn(t, filepath.Join(dir, "adder")); !slices.Equal(got, []string{"1"}) {
		t.Errorf("after the tampered version 2 the folder holds %v, want only version 1", got)
	}
	if n := promtest.ToFloat64(s.pulls.WithLabelValues("adder", "refused")); n != 1 {
		t.Errorf("%v pulls refused, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(dir, stateDir, "blobs", "sha256", want.Encoded())); err == nil {
		t.Error("the tampered bytes are in the cache under the digest they do not have")
	}
}
