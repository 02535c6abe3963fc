package deploy

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

// TestEveryFuzzTargetRuns keeps `make fuzz` (part of `make test`) running
// every fuzz target the tree defines: a new Fuzz function not listed in the
// Makefile's FUZZ_TARGETS fails here, naming it, instead of never running.
func TestEveryFuzzTargetRuns(t *testing.T) {
	root := testutil.RepoRoot()
	cmd := exec.Command("make", "-n", "-s", "--no-print-directory", "fuzz")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n fuzz: %v\n%s", err, out)
	}
	listed := string(out)
	fuzzFunc := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(`)
	found := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		for _, m := range fuzzFunc.FindAllStringSubmatch(string(src), -1) {
			found++
			if target := "./" + rel + ":" + m[1]; !strings.Contains(listed, target) {
				t.Errorf("%s defines %s, which FUZZ_TARGETS does not list (add %s)", filepath.Join(rel, filepath.Base(path)), m[1], target)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatal("no fuzz target found in the tree")
	}
}
