package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

func TestSpliceReadme(t *testing.T) {
	readme := "# x\n\nbefore\n" + ReadmeBegin + "\nold table\n" + ReadmeEnd + "\nafter\n"
	got, err := SpliceReadme([]byte(readme), []byte("| new | table |\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := "# x\n\nbefore\n" + ReadmeBegin + "\n\n| new | table |\n\n" + ReadmeEnd + "\nafter\n"
	if string(got) != want {
		t.Fatalf("spliced:\n%s\nwant:\n%s", got, want)
	}
	// Splicing again gives the same text: make bench-readme can run after every run.
	if again, _ := SpliceReadme(got, []byte("| new | table |")); string(again) != want {
		t.Fatalf("splicing twice:\n%s", again)
	}
	for _, bad := range []string{"no markers", ReadmeEnd + ReadmeBegin, ReadmeBegin + ReadmeBegin + ReadmeEnd} {
		if _, err := SpliceReadme([]byte(bad), []byte("x")); err == nil {
			t.Errorf("%q: spliced", bad)
		}
	}
}

// TestReadmeHasTheBenchMarkers: make bench-readme has a place to write to.
func TestReadmeHasTheBenchMarkers(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SpliceReadme(readme, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "(docs/bench.svg)") {
		t.Error("README.md does not show docs/bench.svg")
	}
}
