// Package detect finds personal data in text: built-in detectors that
// match and then validate (check digits, number plans, parsed addresses),
// and operators' custom RE2 patterns, all bounded by word boundaries. It
// only finds; what to do with a match (mask, redact, hash, reject, count)
// is the privacy package's policy.
package detect

import (
	"fmt"
	"regexp"
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

// The built-in detectors' names.
const (
	KindEmail        = "email"
	KindPhone        = "phone"
	KindCreditCard   = "credit_card"
	KindIBAN         = "iban"
	KindIPAddress    = "ip_address"
	KindCNResidentID = "cn_resident_id"
	KindUSSSN        = "us_ssn"
)

// Builtin names the built-in detectors, in the order they are reported.
var Builtin = []string{KindEmail, KindPhone, KindCreditCard, KindIBAN, KindIPAddress, KindCNResidentID, KindUSSSN}

// builtin is one built-in detector in a Set's bit mask.
type builtin uint8

const (
	email builtin = 1 << iota
	phone
	creditCard
	iban
	ipAddress
	cnResidentID
	usSSN
)

var builtins = map[string]builtin{
	KindEmail: email, KindPhone: phone, KindCreditCard: creditCard, KindIBAN: iban,
	KindIPAddress: ipAddress, KindCNResidentID: cnResidentID, KindUSSSN: usSSN,
}

// numbers are the detectors that read digit runs.
const numbers = phone | creditCard | ipAddress | cnResidentID | usSSN

// What a byte can start (or, for '@' and ':', sit in the middle of).
const (
	startsDigits byte = 1 << iota // a digit, '+', '(' or the first byte of their full-width forms; an IBAN's check digits
	startsEmail                   // '@'
	startsIPv6                    // ':'
)

// Set is a compiled set of detectors, safe for concurrent use.
type Set struct {
	kinds   []string
	enabled builtin
	// starts marks the bytes at which an enabled built-in detector looks
	// further: Find's single pass over the text costs one table load per
	// byte until one of them comes up.
	starts [256]byte
	custom []customPattern
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
		b, ok := builtins[name]
		if !ok {
			return nil, fmt.Errorf("unknown detector %q (known: %v)", name, Builtin)
		}
		s.kinds = append(s.kinds, name)
		s.enabled |= b
	}
	s.fillStarts()
	for _, c := range custom {
		p, err := compileCustom(c, s.kinds)
		if err != nil {
			return nil, err
		}
		s.kinds = append(s.kinds, c.Name)
		s.custom = append(s.custom, p)
	}
	return s, nil
}

func (s *Set) fillStarts() {
	if s.enabled&(numbers|iban) != 0 {
		for c := '0'; c <= '9'; c++ {
			s.starts[c] |= startsDigits
		}
		s.starts['+'] |= startsDigits
		s.starts['('] |= startsDigits
		s.starts[0xEF] |= startsDigits
	}
	if s.enabled&email != 0 {
		s.starts['@'] |= startsEmail
	}
	if s.enabled&ipAddress != 0 {
		s.starts[':'] |= startsIPv6
	}
}

// Kinds names the set's detectors: the built-in ones in the order given,
// then the custom ones.
func (s *Set) Kinds() []string { return s.kinds }

// Find appends to dst the matches in text, sorted by Start and never
// overlapping (where two detectors match overlapping bytes, the earlier
// and then longer match wins; of two matches of the same bytes, the
// built-in detector's). Nothing is allocated when nothing is found.
func (s *Set) Find(text []byte, dst []Match) []Match {
	n := len(dst)
	dst = s.findBuiltin(text, dst)
	for i := range s.custom {
		dst = s.custom[i].find(text, dst)
	}
	if len(dst)-n > 1 {
		found := dst[n:]
		slices.SortStableFunc(found, func(a, b Match) int {
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

// findBuiltin is the one pass of the built-in detectors over text. The
// loop only looks bytes up in starts; all the rest is in at, so that the
// loop stays small where nothing is found.
func (s *Set) findBuiltin(text []byte, dst []Match) []Match {
	var num number
	starts := &s.starts
	for i := 0; i < len(text); i++ {
		if starts[text[i]] == 0 {
			continue
		}
		var m Match
		if m, i = s.at(text, i, &num); m.Kind != "" {
			dst = append(dst, m)
		}
	}
	return dst
}

// at tries the detectors that text[i] may start, and returns their match
// (Kind "" where none) and the offset of the last byte it has dealt with.
func (s *Set) at(text []byte, i int, num *number) (Match, int) {
	starts := s.starts[text[i]]
	if starts&startsDigits != 0 && startsNumber(text, i) {
		// An IBAN's country code glues to its check digits (or only a
		// format character stands between them): looking for one at its
		// first digit rather than at every capital letter keeps capitals
		// out of starts.
		if cc := skipInvisibleBack(text, i); s.enabled&iban != 0 && cc >= 2 && isUpper(text[cc-1]) && isUpper(text[cc-2]) {
			if end := ibanEnd(text, cc-2); end > 0 {
				return Match{Kind: KindIBAN, Start: cc - 2, End: end}, end - 1
			}
		}
		if gluedBefore(text, i) {
			return Match{}, i
		}
		if s.enabled&numbers == 0 {
			return Match{}, i
		}
		readNumber(text, i, num, acrossLines)
		if num.ng == 1 && num.paren == 0 {
			return Match{}, i // "(13812345678)": the parentheses are the sentence's
		}
		kind, end := s.numberKind(text, num)
		if kind == "" && num.separatedBy('\n') {
			// A number per line of a list reads as one run at first; the
			// first line may hold one on its own, and where it does not,
			// the next line starts afresh.
			readNumber(text, i, num, oneLine)
			kind, end = s.numberKind(text, num)
		}
		runEnd := num.end
		if kind == "" && num.spaced() {
			// Space-separated numbers in a row ("13812345678 13912345678")
			// read as one run; its first part may be one on its own, and
			// then the next part starts afresh.
			readNumber(text, i, num, noSpaces)
			kind, end = s.numberKind(text, num)
		}
		if kind != "" {
			return Match{Kind: kind, Start: i, End: end}, end - 1
		}
		if openAt(text, i) > 0 {
			// "(2221 8549 0486 7131)", "(73.162.48.5)": a parenthesis that
			// opens no area code is the sentence's, and the run is read
			// again from its first digit.
			return Match{}, i
		}
		// The rest of the run starts nothing: a digit run holds no '@', ':'
		// or capital letter, and a part of it is no number of its own
		// ("4111 1111 1111 1112" holds no shorter card number).
		return Match{}, max(i, runEnd-1)
	}
	switch {
	case starts&startsEmail != 0 && text[i] == '@':
		if start, end, ok := emailAt(text, i); ok {
			return Match{Kind: KindEmail, Start: start, End: end}, end - 1
		}
	case starts&startsIPv6 != 0 && text[i] == ':':
		if start, end, ok := ipv6At(text, i); ok {
			return Match{Kind: KindIPAddress, Start: start, End: end}, end - 1
		}
	}
	return Match{}, i
}

// numberKind decides what the digit run num is, if anything, and where
// the match ends (a Chinese ID's X and an address's port are not digits
// of the run).
func (s *Set) numberKind(text []byte, num *number) (kind string, end int) {
	if num.overflow {
		return "", 0
	}
	if s.enabled&ipAddress != 0 {
		if end := ipv4End(text, num); end > 0 {
			return KindIPAddress, end
		}
	}
	if s.enabled&cnResidentID != 0 {
		if end := cnIDEnd(text, num); end > 0 && !gluedAfter(text, end) {
			return KindCNResidentID, end
		}
	}
	if gluedAfter(text, num.end) {
		return "", 0
	}
	switch {
	case s.enabled&creditCard != 0 && isCard(num):
		return KindCreditCard, num.end
	case s.enabled&usSSN != 0 && isSSN(num):
		return KindUSSSN, num.end
	case s.enabled&phone != 0 && isPhone(num):
		return KindPhone, num.end
	}
	return "", 0
}

// customPattern is an operator's compiled pattern.
type customPattern struct {
	name string
	re   *regexp.Regexp
}
