package detect

import (
	"unicode"
	"unicode/utf8"
)

// A client can write a number or an address with characters that a reader
// (and the sidecar's tokenizer, which splits on every character that is no
// letter or digit) does not see as part of it: format characters (Unicode
// category Cf: zero-width space and joiners, word joiner, byte order mark,
// soft hyphen, bidi controls) anywhere inside it, or a tab, a line break or
// a Unicode space between its groups. The model reads "4111\u200b1111..."
// as it reads "41111111...", so the detectors must too: format characters
// are invisible (skipped wherever they stand inside a candidate, and part
// of the match, so masking removes them with the value), and whitespace is
// a group separator wherever a space is one.

// skipInvisible returns the offset of the first character at or after i
// that is not a format character. It is small enough to inline: a digit
// run costs one comparison per digit more.
func skipInvisible(text []byte, i int) int {
	if i >= len(text) || text[i] < utf8.RuneSelf {
		return i
	}
	return skipInvisibleRunes(text, i)
}

func skipInvisibleRunes(text []byte, i int) int {
	for i < len(text) && text[i] >= utf8.RuneSelf {
		r, size := utf8.DecodeRune(text[i:])
		if !unicode.Is(unicode.Cf, r) {
			break
		}
		i += size
	}
	return i
}

// skipInvisibleBack returns the offset just after the last character
// before i that is not a format character.
func skipInvisibleBack(text []byte, i int) int {
	if i <= 0 || text[i-1] < utf8.RuneSelf {
		return i
	}
	return skipInvisibleRunesBack(text, i)
}

func skipInvisibleRunesBack(text []byte, i int) int {
	for i > 0 && text[i-1] >= utf8.RuneSelf {
		r, size := utf8.DecodeLastRune(text[:i])
		if !unicode.Is(unicode.Cf, r) {
			break
		}
		i -= size
	}
	return i
}

// whitespaceAt reads one whitespace character at text[i]: ' ' for a space
// (ASCII, tab, or a Unicode space separator: no-break, thin, narrow no-break,
// ideographic and the rest of category Zs), '\n' for a line break (LF, CR,
// CR LF, vertical tab, form feed, NEL, U+2028, U+2029), and its size; or 0, 0.
func whitespaceAt(text []byte, i int) (kind byte, size int) {
	if i >= len(text) {
		return 0, 0
	}
	switch c := text[i]; {
	case c == ' ' || c == '\t':
		return ' ', 1
	case c == '\r' && i+1 < len(text) && text[i+1] == '\n':
		return '\n', 2
	case c == '\n' || c == '\r' || c == '\v' || c == '\f':
		return '\n', 1
	case c < utf8.RuneSelf:
		return 0, 0
	}
	r, size := utf8.DecodeRune(text[i:])
	switch {
	case r == 0x85 || r == 0x2028 || r == 0x2029:
		return '\n', size
	case unicode.Is(unicode.Zs, r):
		return ' ', size
	}
	return 0, 0
}

// whitespaceBefore reports the size of the whitespace character (see
// whitespaceAt) that ends just before offset i, or 0.
func whitespaceBefore(text []byte, i int) int {
	if i <= 0 {
		return 0
	}
	_, size := utf8.DecodeLastRune(text[:i])
	if _, ws := whitespaceAt(text, i-size); ws == size {
		return size
	}
	return 0
}
