package detect

import (
	"bytes"
	"fmt"
	"testing"
)

// reviewText concatenates sentences of deploy/train/data (real text with
// digits, prices, times and punctuation, and no personal data) to at least
// size bytes.
func reviewText(tb testing.TB, size int) []byte {
	sentences := readTrainingSentences(tb)
	var text []byte
	for i := 0; len(text) < size; i++ {
		s := sentences[i%len(sentences)].text
		if len(s) > 20 {
			text = append(append(text, s...), ' ')
		}
	}
	return text
}

// BenchmarkFindNothing measures the built-in detectors on text where they
// find nothing, the common case; issue 15's goal is 5 µs per KB.
func BenchmarkFindNothing(b *testing.B) {
	s, err := New(Builtin, nil)
	if err != nil {
		b.Fatal(err)
	}
	benchmarkFindNothing(b, s)
}

// BenchmarkFindNothingLines measures text of many numbers one per line,
// each of which starts a run across the lines after it: its cost per KB
// must not grow with the text (wrapsHere bounds how far a run reads).
// "1234" is a card number's group, so its lines are read on, "12" is
// none.
func BenchmarkFindNothingLines(b *testing.B) {
	s, err := New(Builtin, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range []string{"12\n", "1234\n", "1234 "} {
		for _, kb := range []int{1, 64} {
			b.Run(fmt.Sprintf("%q/%dKB", line, kb), func(b *testing.B) {
				benchmarkFind(b, s, bytes.Repeat([]byte(line), kb*1024/len(line)), kb)
			})
		}
	}
}

func benchmarkFind(b *testing.B, s *Set, text []byte, kb int) {
	if got := s.Find(text, nil); len(got) != 0 {
		b.Fatalf("found %v", found(text, got))
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		s.Find(text, nil)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N)/float64(kb), "µs/KB")
}

// BenchmarkFindNothingCustom measures custom patterns alone (RE2's cost):
// one with a literal prefix, which RE2 looks for first, and one without.
func BenchmarkFindNothingCustom(b *testing.B) {
	for _, p := range []struct{ name, pattern string }{
		{"literal_prefix", "EMP-[0-9]{6}"},
		{"no_literal_prefix", "[A-Z]{2}[0-9]{6}"},
	} {
		s, err := New(nil, []Custom{{Name: "custom", Pattern: p.pattern}})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(p.name, func(b *testing.B) { benchmarkFindNothing(b, s) })
	}
}

func benchmarkFindNothing(b *testing.B, s *Set) {
	for _, kb := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("%dKB", kb), func(b *testing.B) {
			benchmarkFind(b, s, reviewText(b, kb*1024)[:kb*1024], kb)
		})
	}
}
