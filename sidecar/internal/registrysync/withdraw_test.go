package registrysync

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/modelgate/modelgate/sidecar/internal/repository"
)

// TestDroppedVersionRemovedAfterUnload: a version the policy drops keeps
// its folder while the repository still drains it (a request holds it), and
// loses it once the repository has unloaded it.
func TestDroppedVersionRemovedAfterUnload(t *testing.T) {
	n := pulledAdder(t)
	ctx, client, src, name, models, s, repo := context.Background(), n.client, n.src, n.name, n.models, n.s, n.repo
	// A request in flight on version 1.
	_, release, err := repo.Acquire("adder", "1")
	if err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			release()
		}
	}()

	// Version 3 pushed: the policy drops version 1.
	if _, err := client.Push(ctx, filepath.Join(src, "3"), name); err != nil {
		t.Fatal(err)
	}
	synced := make(chan error, 1)
	go func() {
		_, err := s.Sync(ctx, repo)
		synced <- err
	}()
	v1 := filepath.Join(models, "adder", "1")
	for deadline := time.Now().Add(time.Minute); indexOf(repo, "adder")["1"].State != repository.StateUnloading; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("version 1 never started unloading: %+v", indexOf(repo, "adder"))
		}
	}
	if _, err := os.Stat(v1); err != nil {
		t.Errorf("version 1's folder is gone while the repository still drains it: %v", err)
	}
	if !repo.Holds("adder", 1) {
		t.Error("the repository does not say it holds version 1 while draining it")
	}
	release()
	released = true
	if err := <-synced; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(v1); !os.IsNotExist(err) {
		t.Errorf("version 1's folder after its unload: %v, want it removed", err)
	}
	if got := versionsIn(t, filepath.Join(models, "adder")); !slices.Equal(got, []string{"2", "3"}) {
		t.Errorf("the folder holds %v, want 2 and 3", got)
	}
	idx := indexOf(repo, "adder")
	if idx["2"].State != repository.StateReady || idx["3"].State != repository.StateReady || idx["1"].State == repository.StateReady {
		t.Errorf("index after the sync: %+v", idx)
	}
	if r, err := readRecord(s.recordFile("adder")); err != nil || len(r) != 2 {
		t.Errorf("the record lists %v (%v), want versions 2 and 3", r, err)
	}
}
