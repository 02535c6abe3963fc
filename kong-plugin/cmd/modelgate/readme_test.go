package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

// helpMarker introduces a README block that is a help page, word for word:
//
//	<!-- help: modelgate help serve -->
//	```text
//	(the output of `modelgate help serve`)
//	```
var helpMarker = regexp.MustCompile(`^<!-- help: modelgate((?: [a-z-]+)*) -->$`)

// TestREADMECommandReference checks every help page in README.md's command
// reference against the binary's output, and that there is one for the usage
// page and for each command. MODELGATE_UPDATE_README=1 rewrites the pages
// from the binary instead.
func TestREADMECommandReference(t *testing.T) {
	path := filepath.Join(testutil.RepoRoot(), "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var out []string
	pages := map[string]bool{}
	for i := 0; i < len(lines); i++ {
		out = append(out, lines[i])
		m := helpMarker.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		args := strings.Fields(m[1])
		pages[strings.Join(args, " ")] = true
		if i+1 >= len(lines) || lines[i+1] != "```text" {
			t.Fatalf("README.md:%d: a ```text block must follow %s", i+1, lines[i])
		}
		end := i + 2
		for end < len(lines) && lines[end] != "```" {
			end++
		}
		if end == len(lines) {
			t.Fatalf("README.md:%d: the block after %s never ends", i+1, lines[i])
		}
		got := strings.Join(lines[i+2:end], "\n") + "\n"
		r := runModelgate(t, args...)
		if r.code != 0 {
			t.Fatalf("modelgate %q: exit %d\n%s", args, r.code, r.stderr)
		}
		if got != r.stdout && os.Getenv("MODELGATE_UPDATE_README") == "" {
			t.Errorf("README.md:%d: the page for `modelgate %s` is not the binary's (MODELGATE_UPDATE_README=1 rewrites it):\n--- README\n%s--- binary\n%s",
				i+1, strings.Join(args, " "), got, r.stdout)
		}
		out = append(out, "```text")
		out = append(out, strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")...)
		i = end - 1
	}
	want := []string{"help"}
	for _, c := range commands() {
		want = append(want, "help "+c.name)
	}
	for _, w := range want {
		if !pages[w] {
			t.Errorf("README.md has no page for `modelgate %s` (add <!-- help: modelgate %s --> and a ```text block)", w, w)
		}
	}
	// The sections the help pages send readers to exist.
	sections := []string{commandsSection, pluginServerSection}
	for _, c := range commands() {
		sections = append(sections, c.readme)
	}
	for _, s := range sections {
		if !regexp.MustCompile(`(?m)^#+ ` + regexp.QuoteMeta(s) + `$`).Match(b) {
			t.Errorf("a help page points to README section %q, which README.md lacks", s)
		}
	}
	if os.Getenv("MODELGATE_UPDATE_README") != "" {
		if err := os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
