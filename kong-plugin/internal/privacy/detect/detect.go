// Package detect finds personal data in text: built-in detectors that
// match and then validate (check digits, number plans, parsed addresses),
// and operators' custom RE2 patterns, all bounded by word boundaries. It
// only finds; what to do with a match (mask, redact, hash, reject, count)
// is the privacy package's policy.
package detect

import (
	"fmt"
	"slices"
)

// Match is one piece of personal data found in a text.
type Match struct {
	// Kind is the detector's name: a built-in one (see Builtin) or a
	// custom pattern's name.
	Kind string
	// Start and End are byte offsets into the text: text[Start:End].
	Start, End int
}

// Custom is an operator's pattern: RE2, anchored to word boundaries like
// the built-in detectors.
type Custom struct {
	Name    string
	Pattern string
}

// Builtin names the built-in detectors, in the order they are reported.
var Builtin = []string{"email", "phone", "credit_card", "iban", "ip_address", "cn_resident_id", "us_ssn"}

// finder appends the matches of one detector in text to dst.
type finder func(text []byte, dst []Match) []Match

// Set is a compiled set of detectors, safe for concurrent use.
type Set struct {
	kinds   []string
	finders []finder
}

// New compiles the named built-in detectors and the custom patterns. An
// unknown name, a duplicate or a custom pattern that does not compile is
// an error naming it.
func New(detectors []string, custom []Custom) (*Set, error) {
	s := &Set{}
	for _, name := range detectors {
		if slices.Contains(s.kinds, name) {
			return nil, fmt.Errorf("detector %q is listed twice", name)
		}
		f, ok := builtins[name]
		if !ok {
			return nil, fmt.Errorf("unknown detector %q (known: %v)", name, Builtin)
		}
		s.kinds = append(s.kinds, name)
		s.finders = append(s.finders, f)
	}
	for _, c := range custom {
		return nil, fmt.Errorf("custom pattern %q: custom patterns are not built yet", c.Name)
	}
	return s, nil
}

// Kinds names the set's detectors: the built-in ones in the order given,
// then the custom ones.
func (s *Set) Kinds() []string { return s.kinds }

// Find appends to dst the matches in text, sorted by Start and never
// overlapping (where two detectors match overlapping bytes, the earlier
// and then longer match wins). Nothing is allocated when nothing is found.
func (s *Set) Find(text []byte, dst []Match) []Match {
	n := len(dst)
	for _, f := range s.finders {
		dst = f(text, dst)
	}
	if len(dst)-n > 1 {
		found := dst[n:]
		slices.SortFunc(found, func(a, b Match) int {
			if a.Start != b.Start {
				return a.Start - b.Start
			}
			return b.End - a.End
		})
		kept := found[:1]
		for _, m := range found[1:] {
			if m.Start >= kept[len(kept)-1].End {
				kept = append(kept, m)
			}
		}
		dst = dst[:n+len(kept)]
	}
	return dst
}

// builtins maps each built-in detector's name to its finder.
var builtins = map[string]finder{
	"email": findEmails,
}
