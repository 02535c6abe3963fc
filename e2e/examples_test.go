package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
)

// example is one shell block of the README's examples and what its output
// must (and must not) contain. The expectations are HTML comments after the
// block, invisible on a rendered README:
//
//	<!-- expect: TEXT -->       the output contains TEXT (case-insensitive: header names vary in case)
//	<!-- expect-not: TEXT -->   it does not
//	<!-- e2e: restart -->       restart the gateway after this block (a kong.yml edit)
type example struct {
	line          int
	script        string
	expect, never []string
	restart       bool
}

// examplesFile is the single list of README examples: the README fragment
// includes it verbatim, and TestREADMEExamples checks README.md against it.
var examplesFile = filepath.Join("e2e", "testdata", "examples.md")

func parseExamples(t *testing.T, path string) []example {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []example
	var cur *example
	inBlock := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !inBlock && line == "```sh":
			out = append(out, example{line: n + 1})
			cur, inBlock = &out[len(out)-1], true
		case inBlock && line == "```":
			inBlock = false
		case inBlock:
			cur.script += line + "\n"
		case cur != nil && strings.HasPrefix(line, "<!-- expect: ") && strings.HasSuffix(line, " -->"):
			cur.expect = append(cur.expect, strings.TrimSuffix(strings.TrimPrefix(line, "<!-- expect: "), " -->"))
		case cur != nil && strings.HasPrefix(line, "<!-- expect-not: ") && strings.HasSuffix(line, " -->"):
			cur.never = append(cur.never, strings.TrimSuffix(strings.TrimPrefix(line, "<!-- expect-not: "), " -->"))
		case cur != nil && line == "<!-- e2e: restart -->":
			cur.restart = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestREADMEExamples runs every example of the README as written, in order,
// against `modelgate serve` with a copy of the repository's kong.yml, models
// and keys (the rollback example edits kong.yml), from that copy's root.
func TestREADMEExamples(t *testing.T) {
	examples := parseExamples(t, filepath.Join(testutil.RepoRoot(), examplesFile))
	if len(examples) < 8 {
		t.Fatalf("%s has %d examples; the README promises predict, infer, metadata, 401, 429, pinned version, canary split and rollback", examplesFile, len(examples))
	}
	checkREADMEHasExamples(t, examples)

	dir := repoCopy(t)
	s := startServe(t, dir, "kong.yml")
	env := binEnv(t)
	for _, ex := range examples {
		script := strings.ReplaceAll(ex.script, "localhost:8000", s.addr)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-c", script)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("%s:%d: %v\n%s\noutput:\n%s", examplesFile, ex.line, err, ex.script, out)
			continue
		}
		lower := strings.ToLower(string(out))
		for _, want := range ex.expect {
			if !strings.Contains(lower, strings.ToLower(want)) {
				t.Errorf("%s:%d: output lacks %q\n%s\noutput:\n%s", examplesFile, ex.line, want, ex.script, out)
			}
		}
		for _, unwanted := range ex.never {
			if strings.Contains(lower, strings.ToLower(unwanted)) {
				t.Errorf("%s:%d: output has %q\n%s\noutput:\n%s", examplesFile, ex.line, unwanted, ex.script, out)
			}
		}
		if ex.restart {
			s.stop(t)
			s = startServe(t, dir, "kong.yml")
		}
	}
}

// checkREADMEHasExamples: README.md carries each example exactly as the
// list has it, so the README shows what this test runs.
func checkREADMEHasExamples(t *testing.T, examples []example) {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	for _, ex := range examples {
		if !strings.Contains(string(readme), "```sh\n"+ex.script+"```") {
			t.Errorf("README.md lacks the example at %s:%d, or differs from it:\n%s", examplesFile, ex.line, ex.script)
		}
	}
	if t.Failed() {
		t.FailNow() // every difference reported, none of the examples run
	}
}
