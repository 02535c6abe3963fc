package registrysync

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/modelgate/modelgate/internal/registry"
)

// TestRecordFile: the record of pulled versions reads back what was
// written (digests, withdrawn marks), reads an older syncer's lines (a
// version alone: no digest, so it is pulled again) and refuses a damaged one.
func TestRecordFile(t *testing.T) {
	client, err := registry.NewClient(true)
	if err != nil {
		t.Fatal(err)
	}
	s := newSyncer(t, client, "127.0.0.1:1/models", t.TempDir())
	d := digest.FromString("version 2")
	want := record{1: {}, 2: {digest: d}, 3: {digest: d, withdrawn: true}}
	if err := s.setRecord("adder", want); err != nil {
		t.Fatal(err)
	}
	got, err := readRecord(s.recordFile("adder"))
	if err != nil || len(got) != len(want) {
		t.Fatalf("read back %v, %v", got, err)
	}
	for v, p := range want {
		if got[v] != p {
			t.Errorf("version %d: %+v, want %+v", v, got[v], p)
		}
	}
	if o, ok := s.Origin("adder", 2); !ok || o != d.String() {
		t.Errorf("Origin of version 2: %q %v", o, ok)
	}
	if _, ok := s.Origin("adder", 1); ok {
		t.Error("a version without a recorded digest has an origin")
	}
	if !s.Withdrawn("adder", 3) || s.Withdrawn("adder", 2) {
		t.Error("Withdrawn does not follow the record")
	}

	old := filepath.Join(t.TempDir(), "old")
	if err := os.WriteFile(old, []byte("1\n2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r, err := readRecord(old); err != nil || len(r) != 2 || r[1].digest != "" {
		t.Errorf("an older record: %v, %v", r, err)
	}
	for _, bad := range []string{"x\n", "1 sha256:zz\n", "1 " + d.String() + " withdrawn extra\n"} {
		if err := os.WriteFile(old, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := readRecord(old); err == nil {
			t.Errorf("record %q was accepted", bad)
		}
	}
}

// TestRecordIsACopy: a sync goes on editing its map after recording it,
// while the repository reads the record from its own goroutine; under -race
// this failed ("concurrent map read and map write") while setRecord kept
// the caller's map.
func TestRecordIsACopy(t *testing.T) {
	client, err := registry.NewClient(true)
	if err != nil {
		t.Fatal(err)
	}
	s := newSyncer(t, client, "127.0.0.1:1/models", t.TempDir())
	pulled := record{1: {digest: digest.FromString("version 1")}}
	if err := s.setRecord("adder", pulled); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			s.Withdrawn("adder", 1)
			s.Origin("adder", 2)
		}
	}()
	for v := range int64(1000) {
		pulled[v+2] = pulledVersion{digest: digest.FromString("later")}
	}
	<-done
	if _, ok := s.Origin("adder", 2); ok {
		t.Error("a version added to the caller's map after setRecord reached the record")
	}
}
