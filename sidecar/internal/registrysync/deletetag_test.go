package registrysync

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"oras.land/oras-go/v2/registry/remote"

	"github.com/modelgate/modelgate/sidecar/internal/repository"
)

// TestDeletedTagUnloaded: the rollback of deploy/README.md, "With a model
// registry": once a version's tag is deleted from the registry, the node
// unloads that version and removes its folder; the other keeps serving.
func TestDeletedTagUnloaded(t *testing.T) {
	n := pulledAdder(t)
	ctx, name, models, s, repo := context.Background(), n.name, n.models, n.s, n.repo
	if idx := indexOf(repo, "adder"); idx["2"].State != repository.StateReady {
		t.Fatalf("before the delete: %+v", idx)
	}

	// Version 2's manifest deleted, as `oras manifest delete` does.
	r, err := remote.NewRepository(name)
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	desc, err := r.Resolve(ctx, "2")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctx, desc); err != nil {
		t.Fatal(err)
	}
	if changed, err := s.Sync(ctx, repo); err != nil || !changed {
		t.Fatalf("sync after the delete: changed %v, %v", changed, err)
	}
	idx := indexOf(repo, "adder")
	if idx["2"].State == repository.StateReady || idx["1"].State != repository.StateReady {
		t.Errorf("after the delete: %+v; want 1 serving, 2 unloaded", idx)
	}
	if _, err := os.Stat(filepath.Join(models, "adder", "2")); !os.IsNotExist(err) {
		t.Errorf("version 2's folder after its unload: %v", err)
	}
	if got := versionsIn(t, filepath.Join(models, "adder")); !slices.Equal(got, []string{"1"}) {
		t.Errorf("the folder holds %v, want 1", got)
	}
}
