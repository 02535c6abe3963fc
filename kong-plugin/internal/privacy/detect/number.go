package detect

// The number detectors (phone, credit_card, us_ssn, cn_resident_id and
// IPv4) share one reading of a digit run: digit groups, ASCII or
// full-width, with one separator between groups, a leading plus and one
// group in parentheses. Each detector then decides whether the groups
// have its shape and its check digits.

const (
	// maxDigits is more than any detector accepts (an IBAN is read on its
	// own): a longer run is no match at all, never a match of its prefix.
	maxDigits = 24
	maxGroups = 8
)

// number is one digit run as written.
type number struct {
	start, end int // text[start:end], from the plus or first digit to the last digit or ')'
	plus       bool
	digits     [maxDigits]byte // values 0-9
	n          int             // len(digits) used
	groups     [maxGroups]int8 // digits per group
	seps       [maxGroups]byte // the separator before each group: 0 (none), ' ', '\n' (a line break), '-', '.' or '/'
	ng         int
	paren      int  // index of the group written in parentheses, or -1
	overflow   bool // too many digits or groups, or an unclosed parenthesis
}

// How far readNumber reads: whitespace separates groups or ends the run.
type reading uint8

const (
	acrossLines reading = iota // spaces and line breaks separate groups
	oneLine                    // a line break ends the run
	noSpaces                   // any whitespace ends the run
)

// readNumber reads the digit run that starts at text[start] (a digit, a
// plus or an opening parenthesis). Format characters inside it are
// skipped (see invisible.go).
func readNumber(text []byte, start int, n *number, how reading) {
	*n = number{start: start, end: start, paren: -1}
	i := start
	if size := plusAt(text, i); size > 0 {
		n.plus = true
		i += size
	}
	var sep byte
	for {
		groupStart, open := i, false
		if size := openAt(text, i); size > 0 {
			open = true
			i += size
		}
		digits := 0
		for {
			j := skipInvisible(text, i)
			d, size := digitAt(text, j)
			if size == 0 {
				break
			}
			if n.n < maxDigits {
				n.digits[n.n] = d
			}
			n.n++
			digits++
			i = j + size
		}
		if digits == 0 {
			i = groupStart
			break
		}
		closed := false
		if open {
			size := closeAt(text, i)
			if size == 0 || n.paren >= 0 {
				n.overflow = true
				n.end = i
				break
			}
			n.paren = n.ng
			closed = true
			i += size
		}
		if n.ng < maxGroups {
			n.groups[n.ng] = int8(min(digits, 127))
			n.seps[n.ng] = sep
		}
		n.ng++
		n.end = i
		at := skipInvisible(text, i)
		s, size := sepAt(text, at)
		if size == 0 && closed {
			s = ' ' // "(030)1234567" reads as "(030) 1234567"
		}
		if s == ' ' && size > 0 && how == noSpaces || s == '\n' && how != acrossLines {
			break
		}
		if size == 3 && text[at] == ' ' && n.ng != 1 {
			break // " / " and " - " only after an area code
		}
		next := skipInvisible(text, at+size)
		if _, d := digitAt(text, next); d == 0 && openAt(text, next) == 0 {
			break
		}
		if size == 0 && !closed {
			break
		}
		if s == '\n' && !wrapsHere(n, digits) {
			break
		}
		sep, i = s, next
	}
	if n.n > maxDigits || n.ng > maxGroups {
		n.overflow = true
	}
}

// wrapsHere reports whether a line break after the group of digits just
// read may continue the number. The numbers taken across lines are card
// numbers (groups of 4, Amex's and Diners' 4-6), Chinese resident IDs
// (6-8-4) and international phone numbers (after a '+'): other groups end
// the run at the line break, and so does a run that holds 19 digits
// already (a card's most). The lines after it are read on their own (see
// Set.at): reading them here as well, as far as a run goes, would make a
// text of many short numbers one per line cost many times its length.
func wrapsHere(n *number, digits int) bool {
	if n.n >= 19 {
		return false
	}
	return n.plus || digits == 4 || digits == 6 || digits == 8
}

// spaced reports whether whitespace (a space or a line break) separates
// two of the groups.
func (n *number) spaced() bool { return n.separatedBy(' ') || n.separatedBy('\n') }

// separatedBy reports whether sep separates two of the groups.
func (n *number) separatedBy(sep byte) bool {
	for g := 1; g < min(n.ng, maxGroups); g++ {
		if n.seps[g] == sep {
			return true
		}
	}
	return false
}

// grouped reports whether the groups have exactly the lengths given.
func (n *number) grouped(lengths ...int8) bool {
	if n.ng != len(lengths) {
		return false
	}
	for i, l := range lengths {
		if n.groups[i] != l {
			return false
		}
	}
	return true
}

// sameSeps reports whether every group after the first follows the same
// separator, one of allowed; spaces and line breaks are one kind (a
// number wrapped across lines), and a line break is allowed where a space
// is.
func (n *number) sameSeps(allowed string) bool {
	if n.ng < 2 {
		return true
	}
	s := spaceForBreak(n.seps[1])
	for i := 2; i < n.ng; i++ {
		if spaceForBreak(n.seps[i]) != s {
			return false
		}
	}
	for i := 0; i < len(allowed); i++ {
		if allowed[i] == s {
			return true
		}
	}
	return false
}

func spaceForBreak(sep byte) byte {
	if sep == '\n' {
		return ' '
	}
	return sep
}

// value is the number that digits [from, to) spell.
func (n *number) value(from, to int) int {
	v := 0
	for _, d := range n.digits[from:to] {
		v = v*10 + int(d)
	}
	return v
}

// digitAt reads an ASCII or full-width digit.
func digitAt(text []byte, i int) (d byte, size int) {
	if i >= len(text) {
		return 0, 0
	}
	if c := text[i]; c >= '0' && c <= '9' {
		return c - '0', 1
	}
	if i+2 < len(text) && text[i] == 0xEF && text[i+1] == 0xBC && text[i+2] >= 0x90 && text[i+2] <= 0x99 {
		return text[i+2] - 0x90, 3 // U+FF10..U+FF19
	}
	return 0, 0
}

// sepAt reads a separator between digit groups: whitespace (see
// whitespaceAt: ' ' or '\n'), hyphen (ASCII, Unicode or full-width), dot
// or slash, or a hyphen or slash between two spaces.
func sepAt(text []byte, i int) (sep byte, size int) {
	if i >= len(text) {
		return 0, 0
	}
	switch text[i] {
	case ' ':
		if i+2 < len(text) && (text[i+1] == '-' || text[i+1] == '/') && text[i+2] == ' ' {
			return text[i+1], 3 // "089 / 1234567"
		}
		return ' ', 1
	case '-', '.', '/':
		return text[i], 1
	case 0xE2:
		if i+2 < len(text) && text[i+1] == 0x80 && (text[i+2] == 0x90 || text[i+2] == 0x91) {
			return '-', 3
		}
	case 0xEF:
		if i+2 < len(text) && text[i+1] == 0xBC && text[i+2] == 0x8D {
			return '-', 3 // U+FF0D
		}
	}
	return whitespaceAt(text, i)
}

func plusAt(text []byte, i int) int  { return asciiOrFullWidth(text, i, '+', 0x8B) }
func openAt(text []byte, i int) int  { return asciiOrFullWidth(text, i, '(', 0x88) }
func closeAt(text []byte, i int) int { return asciiOrFullWidth(text, i, ')', 0x89) }

// asciiOrFullWidth reads c or its full-width form U+FF00+(c-0x20), whose
// UTF-8 is EF BC fw.
func asciiOrFullWidth(text []byte, i int, c, fw byte) int {
	if i >= len(text) {
		return 0
	}
	if text[i] == c {
		return 1
	}
	if i+2 < len(text) && text[i] == 0xEF && text[i+1] == 0xBC && text[i+2] == fw {
		return 3
	}
	return 0
}

// startsNumber reports whether a digit run can start at text[i].
func startsNumber(text []byte, i int) bool {
	if _, size := digitAt(text, i); size > 0 {
		return true
	}
	if size := plusAt(text, i); size > 0 {
		_, d := digitAt(text, skipInvisible(text, i+size))
		return d > 0
	}
	if size := openAt(text, i); size > 0 {
		_, d := digitAt(text, skipInvisible(text, i+size))
		return d > 0
	}
	return false
}
