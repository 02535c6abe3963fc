package detect

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/modelgate/modelgate/internal/testutil"
)

// The goals of issue 15 for every built-in detector on the corpus.
const (
	minPrecision = 0.99
	minRecall    = 0.98
)

// corpusCase is one line of testdata/corpus.txt, its marks removed.
type corpusCase struct {
	where string // file:line
	kind  string // "" for a sentence of deploy/train/data
	text  []byte
	want  []Match
}

// score counts one detector's results.
type score struct {
	positives, nearMisses, truePos, falsePos, falseNeg int
}

func (s score) precision() float64 {
	if s.truePos+s.falsePos == 0 {
		return 1
	}
	return float64(s.truePos) / float64(s.truePos+s.falsePos)
}

func (s score) recall() float64 {
	if s.truePos+s.falseNeg == 0 {
		return 1
	}
	return float64(s.truePos) / float64(s.truePos+s.falseNeg)
}

// TestCorpusPrecisionRecall runs all built-in detectors on the labelled
// corpus and on every sentence of deploy/train/data, prints each
// detector's precision and recall (go test -v, a table for the README)
// and holds them to issue 15's goals.
func TestCorpusPrecisionRecall(t *testing.T) {
	cases := readCorpus(t, filepath.Join("testdata", "corpus.txt"))
	sentences := readTrainingSentences(t)
	scores := scoreCorpus(t, append(cases, sentences...))
	if testing.Verbose() {
		fmt.Printf("corpus: %d labelled lines, %d sentences of deploy/train/data as negatives\n\n", len(cases), len(sentences))
		printScores(scores)
	}
	checkScores(t, scores)
}

// TestHeldOutPrecisionRecall does the same on testdata/heldout.txt, a
// corpus written after the detectors by an engineer who had not read their
// source, so that its scores say how the detectors do on text they were
// not written against. It prints its own table and is held to the same
// goals.
func TestHeldOutPrecisionRecall(t *testing.T) {
	cases := readCorpus(t, filepath.Join("testdata", "heldout.txt"))
	scores := scoreCorpus(t, cases)
	if testing.Verbose() {
		fmt.Printf("held-out corpus: %d labelled lines\n\n", len(cases))
		printScores(scores)
	}
	checkScores(t, scores)
}

// scoreCorpus runs all built-in detectors on every case and counts each
// detector's results, logging each false positive and each miss.
func scoreCorpus(t *testing.T, cases []corpusCase) map[string]*score {
	t.Helper()
	set, err := New(Builtin, nil)
	if err != nil {
		t.Fatal(err)
	}
	scores := map[string]*score{}
	for _, kind := range Builtin {
		scores[kind] = &score{}
	}
	for _, c := range cases {
		if c.kind != "" {
			if len(c.want) == 0 {
				scores[c.kind].nearMisses++
			}
			scores[c.kind].positives += len(c.want)
		}
		got := set.Find(c.text, nil)
		for _, m := range got {
			if slices.Contains(c.want, m) {
				scores[m.Kind].truePos++
				continue
			}
			scores[m.Kind].falsePos++
			t.Logf("%s: false positive %s %q in %q", c.where, m.Kind, c.text[m.Start:m.End], c.text)
		}
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				scores[w.Kind].falseNeg++
				t.Logf("%s: missed %s %q in %q", c.where, w.Kind, c.text[w.Start:w.End], c.text)
			}
		}
	}
	return scores
}

// printScores prints one table row per built-in detector, in the README's
// format.
func printScores(scores map[string]*score) {
	fmt.Println("| detector | positives | near misses | true positives | false positives | missed | precision | recall |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, kind := range Builtin {
		s := scores[kind]
		fmt.Printf("| %s | %d | %d | %d | %d | %d | %.3f | %.3f |\n",
			kind, s.positives, s.nearMisses, s.truePos, s.falsePos, s.falseNeg, s.precision(), s.recall())
	}
	fmt.Println()
}

// checkScores holds every built-in detector to issue 15's goals and to at
// least 40 positives and 40 near misses.
func checkScores(t *testing.T, scores map[string]*score) {
	t.Helper()
	for _, kind := range Builtin {
		s := scores[kind]
		if s.positives < 40 || s.nearMisses < 40 {
			t.Errorf("%s: %d positives and %d near misses in the corpus, want at least 40 of each", kind, s.positives, s.nearMisses)
		}
		if s.precision() < minPrecision || s.recall() < minRecall {
			t.Errorf("%s: precision %.3f (want >= %.2f), recall %.3f (want >= %.2f)", kind, s.precision(), minPrecision, s.recall(), minRecall)
		}
	}
}

// readCorpus reads the labelled corpus (its format is described at the
// top of the file).
func readCorpus(t *testing.T, path string) []corpusCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []corpusCase
	for n, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", path, n+1)
		kind, text, ok := strings.Cut(line, "\t")
		if !ok || !slices.Contains(Builtin, kind) {
			t.Fatalf("%s: want a built-in detector's name, a tab and the text", where)
		}
		text, err := unescape(text)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		c := corpusCase{where: where, kind: kind}
		for {
			open := strings.Index(text, "⟦")
			if open < 0 {
				break
			}
			c.text = append(c.text, text[:open]...)
			rest := text[open+len("⟦"):]
			shut := strings.Index(rest, "⟧")
			if shut < 0 {
				t.Fatalf("%s: ⟦ without ⟧", where)
			}
			c.want = append(c.want, Match{Kind: kind, Start: len(c.text), End: len(c.text) + shut})
			c.text = append(c.text, rest[:shut]...)
			text = rest[shut+len("⟧"):]
		}
		if strings.Contains(text, "⟧") {
			t.Fatalf("%s: ⟧ without ⟦", where)
		}
		c.text = append(c.text, text...)
		cases = append(cases, c)
	}
	return cases
}

// unescape replaces the corpus's escapes, which write characters a line
// cannot hold or a reader cannot see: \n, \r, \t, \\ and \u{HEX}.
func unescape(text string) (string, error) {
	if !strings.Contains(text, `\`) {
		return text, nil
	}
	var b strings.Builder
	for {
		before, after, ok := strings.Cut(text, `\`)
		b.WriteString(before)
		if !ok {
			return b.String(), nil
		}
		if after == "" {
			return "", fmt.Errorf("a \\ at the end of the line")
		}
		switch c := after[0]; c {
		case 'n', 'r', 't', '\\':
			b.WriteByte(map[byte]byte{'n': '\n', 'r': '\r', 't': '\t', '\\': '\\'}[c])
			text = after[1:]
		case 'u':
			hex, rest, ok := strings.Cut(strings.TrimPrefix(after, "u{"), "}")
			r, err := strconv.ParseUint(hex, 16, 32)
			if !strings.HasPrefix(after, "u{") || !ok || err != nil || !utf8.ValidRune(rune(r)) {
				return "", fmt.Errorf("bad escape \\%.8s", after)
			}
			b.WriteRune(rune(r))
			text = rest
		default:
			return "", fmt.Errorf("unknown escape \\%c", c)
		}
	}
}

// readTrainingSentences reads the text of every row of every file in
// deploy/train/data (tab-separated, the text in the last column, a header
// first).
func readTrainingSentences(t testing.TB) []corpusCase {
	t.Helper()
	dir := filepath.Join(testutil.RepoRoot(), "deploy", "train", "data")
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no files in %s: %v", dir, err)
	}
	var cases []corpusCase
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			if n == 1 {
				continue
			}
			fields := bytes.Split(sc.Bytes(), []byte("\t"))
			text := bytes.Clone(fields[len(fields)-1])
			cases = append(cases, corpusCase{where: fmt.Sprintf("%s:%d", file, n), text: text})
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return cases
}
