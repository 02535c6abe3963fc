package jsontensor

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// Scanner reads the JSON of a request's envelope (the objects around the
// tensors) in one pass, for the common request: plain ASCII keys spelled
// as the protocol spells them, each once, strings without escapes, no
// nulls. Each method returns false to hand the whole body to encoding/json
// instead: a Scanner never reports an error of its own, so it never has to
// agree with encoding/json's messages, and a caller's fast path gives
// exactly what encoding/json would or nothing. It allocates nothing itself.
type Scanner struct {
	src []byte
	pos int
}

// NewScanner reads src.
func NewScanner(src []byte) Scanner { return Scanner{src: src} }

// maxSkipDepth bounds how deep a Scanner follows nesting in values it
// skips; deeper bodies go to encoding/json, which has its own limit.
const maxSkipDepth = 64

// End skips trailing space and reports whether nothing else follows.
func (p *Scanner) End() bool {
	p.space()
	return p.pos == len(p.src)
}

// Value returns the bytes of one JSON value (checked, not decoded), a
// slice of src; a null is left to encoding/json.
func (p *Scanner) Value() ([]byte, bool) {
	if p.Peek() == 'n' {
		return nil, false
	}
	start := p.pos
	if !p.skip(0) {
		return nil, false
	}
	return p.src[start:p.pos:p.pos], true
}

func (p *Scanner) space() { p.pos = spaceEnd(p.src, p.pos) }

// spaceEnd is where the JSON white space that starts at src[i] ends.
func spaceEnd(src []byte, i int) int {
	for i < len(src) {
		switch src[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// Peek skips space and returns the next byte, 0 at the end.
func (p *Scanner) Peek() byte {
	p.space()
	if p.pos >= len(p.src) {
		return 0
	}
	return p.src[p.pos]
}

// Object parses an object whose known keys are keys: member(i) parses the
// value of keys[i]; other keys' values are checked and skipped. A known key
// given twice, or an unknown key encoding/json would match to a known one
// (it matches case-insensitively), goes to encoding/json.
func (p *Scanner) Object(keys []string, member func(int) bool) bool {
	var seen uint32
	return p.members(func(key []byte) bool {
		k := known(keys, key)
		switch {
		case k == -2 || k >= 0 && seen&(1<<k) != 0:
			return false
		case k >= 0:
			seen |= 1 << k
			// A null leaves a field as it was (or sets a pointer to nil):
			// rare enough to leave to encoding/json.
			return p.Peek() != 'n' && member(k)
		}
		return p.skip(0)
	})
}

// members walks an object: value(key) reads the value of the member named
// key, the name's bytes between its quotes, escapes and all.
func (p *Scanner) members(value func(key []byte) bool) bool {
	if p.Peek() != '{' {
		return false
	}
	p.pos++
	for first := true; ; first = false {
		c := p.Peek()
		if c == '}' {
			p.pos++
			return true
		}
		if !first {
			if c != ',' {
				return false
			}
			p.pos++
		}
		if p.Peek() != '"' {
			return false
		}
		start := p.pos + 1
		if !p.skipString() {
			return false
		}
		key := p.src[start : p.pos-1]
		if p.Peek() != ':' {
			return false
		}
		p.pos++
		if !value(key) {
			return false
		}
	}
}

// known is key's index in keys, -1 for another key, -2 for a key
// encoding/json might still match to one of keys: one that folds to one of
// them (it matches case-insensitively), or one with escapes or non-ASCII
// bytes, whose decoding or folding the fast path leaves to encoding/json.
func known(keys []string, key []byte) int {
	for i, k := range keys {
		if string(key) == k {
			return i
		}
	}
	for _, c := range key {
		if c == '\\' || c >= utf8.RuneSelf {
			return -2
		}
	}
	for _, k := range keys {
		if bytes.EqualFold(key, []byte(k)) {
			return -2
		}
	}
	return -1
}

// PlainString returns the bytes of a string without escapes or control
// characters whose UTF-8 is valid (encoding/json replaces invalid UTF-8).
func (p *Scanner) PlainString() ([]byte, bool) {
	if p.Peek() != '"' {
		return nil, false
	}
	start := p.pos + 1
	ascii := true
	for i := start; i < len(p.src); i++ {
		switch c := p.src[i]; {
		case c == '"':
			s := p.src[start:i]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			p.pos = i + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// StringValue returns a string PlainString accepts, as a string.
func (p *Scanner) StringValue() (string, bool) {
	s, ok := p.PlainString()
	return string(s), ok
}

// Bool returns a true or false literal.
func (p *Scanner) Bool() (bool, bool) {
	switch p.Peek() {
	case 't':
		return true, p.literal("true")
	case 'f':
		return false, p.literal("false")
	}
	return false, false
}

func (p *Scanner) literal(lit string) bool {
	if !bytes.HasPrefix(p.src[p.pos:], []byte(lit)) {
		return false
	}
	p.pos += len(lit)
	return true
}

// Int64 parses a JSON integer that fits an int64; a fraction, an exponent
// or an overflow is encoding/json's error to report.
func (p *Scanner) Int64() (int64, bool) {
	p.space()
	start := p.pos
	integer, ok := p.number()
	if !ok || !integer {
		return 0, false
	}
	v, err := strconv.ParseInt(string(p.src[start:p.pos]), 10, 64)
	return v, err == nil
}

// number scans a JSON number and reports whether it is an integer (no
// fraction, no exponent).
func (p *Scanner) number() (integer, ok bool) {
	s, i := p.src, p.pos
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = digits(s, i)
	default:
		return false, false
	}
	integer = true
	if i < len(s) && s[i] == '.' {
		integer = false
		if j := digits(s, i+1); j > i+1 {
			i = j
		} else {
			return false, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		integer = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if j := digits(s, i); j > i {
			i = j
		} else {
			return false, false
		}
	}
	p.pos = i
	return integer, true
}

func digits(s []byte, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// Array parses an array, element() parsing each element.
func (p *Scanner) Array(element func() bool) bool {
	if p.Peek() != '[' {
		return false
	}
	p.pos++
	if p.Peek() == ']' {
		p.pos++
		return true
	}
	for {
		if !element() {
			return false
		}
		switch p.Peek() {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return true
		default:
			return false
		}
	}
}

// skip checks one JSON value as encoding/json's scanner would and moves
// past it.
func (p *Scanner) skip(depth int) bool {
	if depth > maxSkipDepth {
		return false
	}
	switch p.Peek() {
	case '{':
		return p.members(func([]byte) bool { return p.skip(depth + 1) })
	case '[':
		return p.Array(func() bool { return p.skip(depth + 1) })
	case '"':
		return p.skipString()
	case 't':
		return p.literal("true")
	case 'f':
		return p.literal("false")
	case 'n':
		return p.literal("null")
	}
	_, ok := p.number()
	return ok
}

// skipString moves past a string, checking its escapes; any other byte
// but a control character is valid JSON, UTF-8 or not.
func (p *Scanner) skipString() bool {
	s := p.src
	for i := p.pos + 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			p.pos = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			i++
			if i >= len(s) {
				return false
			}
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) {
					return false
				}
				i += 4
			default:
				return false
			}
		}
	}
	return false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
