package detect

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"unicode/utf8"
)

// compileCustom compiles an operator's pattern. Its name becomes a match's
// Kind, so it may not be empty or repeat a detector's name, and a pattern
// that matches the empty string would find nothing but empty matches.
func compileCustom(c Custom, taken []string) (customPattern, error) {
	if c.Name == "" {
		return customPattern{}, fmt.Errorf("custom pattern %q has no name", c.Pattern)
	}
	if _, ok := builtins[c.Name]; ok {
		return customPattern{}, fmt.Errorf("custom pattern %q: the name is a built-in detector's", c.Name)
	}
	if slices.Contains(taken, c.Name) {
		return customPattern{}, fmt.Errorf("custom pattern %q is listed twice", c.Name)
	}
	re, err := regexp.Compile(c.Pattern)
	if err != nil {
		return customPattern{}, fmt.Errorf("custom pattern %q: %w", c.Name, err)
	}
	// Compile has parsed it already: this parse cannot fail.
	if parsed, err := syntax.Parse(c.Pattern, syntax.Perl); err == nil && anchored(parsed) {
		return customPattern{}, fmt.Errorf("custom pattern %q: ^, $, \\A and \\z are not supported: a pattern is searched anywhere in the text, between word boundaries", c.Name)
	}
	if re.MatchString("") {
		return customPattern{}, fmt.Errorf("custom pattern %q matches the empty string", c.Name)
	}
	return customPattern{name: c.Name, re: re}, nil
}

// anchored reports whether the pattern holds a start or end of text or
// line: the search resumes inside the text after each match, where such
// an anchor would mean the wrong place.
func anchored(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
		return true
	}
	return slices.ContainsFunc(re.Sub, anchored)
}

// find appends the pattern's matches that stand on their own (see
// gluedBefore). RE2 reports one match per start, the leftmost-first: where
// that one is glued, the search goes on at the next place a match could
// start (after the glued word, never inside it, so a long glued run costs
// one scan, not one per byte), and a shorter or longer bounded match at
// the same start is not looked for.
func (p *customPattern) find(text []byte, dst []Match) []Match {
	for from := 0; from < len(text); {
		loc := p.re.FindIndex(text[from:])
		if loc == nil {
			break
		}
		start, end := from+loc[0], from+loc[1]
		if bounded(text, start, end) {
			dst = append(dst, Match{Kind: p.name, Start: start, End: end})
			from = end
			continue
		}
		from = nextUnglued(text, start)
	}
	return dst
}

// nextUnglued is the first offset after start where a match could stand
// on its own: past the rest of start's word.
func nextUnglued(text []byte, start int) int {
	_, size := utf8.DecodeRune(text[start:])
	from := start + max(size, 1)
	for from < len(text) && gluedBefore(text, from) {
		_, size := utf8.DecodeRune(text[from:])
		from += max(size, 1)
	}
	return from
}
