package detect

import (
	"slices"
	"testing"
)

func TestFindEmail(t *testing.T) {
	s, err := New([]string{"email"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	text := []byte("write to ana.silva+films@example.co.uk. or not@all")
	got := s.Find(text, nil)
	want := []Match{{Kind: "email", Start: 9, End: 38}}
	if !slices.Equal(got, want) {
		t.Fatalf("Find = %v, want %v", got, want)
	}
	if string(text[got[0].Start:got[0].End]) != "ana.silva+films@example.co.uk" {
		t.Fatalf("matched %q", text[got[0].Start:got[0].End])
	}
}

func TestNewRefusesUnknownAndDuplicate(t *testing.T) {
	for _, names := range [][]string{{"nope"}, {"email", "email"}} {
		if _, err := New(names, nil); err == nil {
			t.Errorf("New(%v) accepted", names)
		}
	}
}
