package detect

import (
	"unicode"
	"unicode/utf8"
)

// A match must stand on its own: not glued to a letter or digit on either
// side, so that part of a longer token (an order number, a version, a
// timestamp, a hash) is never taken for personal data. Unlike RE2's \b,
// the rule knows Unicode: a Latin, Greek or Cyrillic letter glues, a CJK
// character does not (Chinese and Japanese write no spaces, and
// "电话13812345678" holds a phone number).
//
// Punctuation that joins the parts of one token glues too: "-", ".", ",",
// ":", "/" and "_" between digits ("2024-01-05", "1.2.3.4.5", "12:30:45"),
// and "-", "_" and "/" after or before a letter ("ORD-2024-000123").

// gluedBefore reports whether the text before offset i continues the
// token that starts at i.
func gluedBefore(text []byte, i int) bool {
	if i <= 0 {
		return false
	}
	r, size := utf8.DecodeLastRune(text[:i])
	if isWordRune(r) {
		return true
	}
	if !isJoiner(r) {
		return false
	}
	prev, _ := utf8.DecodeLastRune(text[:i-size])
	return joins(r, prev)
}

// gluedAfter reports whether the text from offset j continues the token
// that ends at j.
func gluedAfter(text []byte, j int) bool {
	if j >= len(text) {
		return false
	}
	r, size := utf8.DecodeRune(text[j:])
	if isWordRune(r) {
		return true
	}
	if !isJoiner(r) {
		return false
	}
	next, _ := utf8.DecodeRune(text[j+size:])
	return joins(r, next)
}

// bounded reports whether text[start:end] stands on its own.
func bounded(text []byte, start, end int) bool {
	return !gluedBefore(text, start) && !gluedAfter(text, end)
}

// joins reports whether the joiner sep glues to its neighbour
// rune on the far side.
func joins(sep, neighbour rune) bool {
	if isDigitRune(neighbour) {
		return true
	}
	switch sep {
	case '-', '_', '/', '－':
		return isWordRune(neighbour)
	}
	return false
}

func isJoiner(r rune) bool {
	switch r {
	case '-', '.', ',', ':', '/', '_', '－', '．':
		return true
	}
	return false
}

func isDigitRune(r rune) bool {
	return r >= '0' && r <= '9' || r >= '０' && r <= '９'
}

// isWordRune reports whether r is part of a word: a letter, digit or mark,
// except in the scripts written without spaces between words.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	}
	switch {
	case r >= '０' && r <= '９', r >= 'Ａ' && r <= 'Ｚ', r >= 'ａ' && r <= 'ｚ':
		return true
	case r >= 0x2E80 && r <= 0x9FFF, // CJK radicals, punctuation, kana, Han
		r >= 0xAC00 && r <= 0xD7AF,   // Hangul syllables
		r >= 0xF900 && r <= 0xFAFF,   // CJK compatibility ideographs
		r >= 0xFF00 && r <= 0xFFEF,   // full-width punctuation, half-width kana
		r >= 0x20000 && r <= 0x3FFFF: // Han extensions
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}
