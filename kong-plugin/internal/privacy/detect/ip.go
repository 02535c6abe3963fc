package detect

// ipv4End reports where the IPv4 address that fills the digit run ends,
// or -1: a dotted quad of decimal octets 0-255 without leading zeros. A
// port (":8080"), a prefix length ("/24") or a URL's path may follow; the
// match is the address.
func ipv4End(text []byte, n *number) int {
	if n.plus || n.paren >= 0 {
		return -1
	}
	end, ok := dottedQuad(text, n.start)
	if !ok || afterVersionWord(text, n.start) {
		return -1
	}
	after := end
	if after+1 < len(text) && text[after] == ':' && isDigit(text[after+1]) {
		after++
		for k := 0; k < 5 && after < len(text) && isDigit(text[after]); k++ {
			after++
		}
	}
	if after < len(text) && text[after] == '/' {
		return end // a prefix length or a URL's path
	}
	if gluedAfter(text, after) {
		return -1
	}
	return end
}

// afterVersionWord reports whether the word before offset i (and one
// whitespace character) is one that names a version: "Version 2.1.0.5", "build 10.0.0.1".
func afterVersionWord(text []byte, i int) bool {
	i -= whitespaceBefore(text, i)
	if i > 0 && text[i-1] == '.' {
		i-- // "ver. 1.2.3.4"
	}
	start := i
	for start > 0 && i-start < 8 && isAlnum(text[start-1]) {
		start--
	}
	if start > 0 && isAlnum(text[start-1]) {
		return false
	}
	for _, word := range []string{"v", "ver", "version", "build", "release", "firmware", "fw"} {
		if asciiEqualFold(text[start:i], word) {
			return true
		}
	}
	return false
}

// asciiEqualFold reports whether b spells the lower-case ASCII word in any
// case.
func asciiEqualFold(b []byte, word string) bool {
	if len(b) != len(word) {
		return false
	}
	for i, c := range b {
		if c|0x20 != word[i] {
			return false
		}
	}
	return true
}

// dottedQuad parses an IPv4 address in ASCII at text[i:], skipping format
// characters inside it.
func dottedQuad(text []byte, i int) (end int, ok bool) {
	for octet := 0; octet < 4; octet++ {
		if octet > 0 {
			if i = skipInvisible(text, i); i >= len(text) || text[i] != '.' {
				return i, false
			}
			i++
		}
		v, digits, first := 0, 0, byte(0)
		for digits < 4 {
			j := skipInvisible(text, i)
			if j >= len(text) || !isDigit(text[j]) {
				break
			}
			if digits == 0 {
				first = text[j]
			}
			v = v*10 + int(text[j]-'0')
			digits++
			i = j + 1
		}
		if digits == 0 || digits > 3 || v > 255 || digits > 1 && first == '0' {
			return i, false
		}
	}
	return i, true
}

// ipv6At parses the IPv6 address whose first colon is text[colon], or
// returns ok false: eight groups of one to four hex digits, or fewer with
// one "::", the last two may be an IPv4 address, a prefix length may
// follow. Words and clock times that happen to have colons ("12:30:45",
// "std::vector") have too few groups or no digit. Format characters inside
// the address are skipped.
func ipv6At(text []byte, colon int) (start, end int, ok bool) {
	start = colon
	for k := 0; k < 5; k++ {
		before := skipInvisibleBack(text, start)
		if before == 0 || !isHex(text[before-1]) {
			break
		}
		start = before - 1
	}
	if before := skipInvisibleBack(text, start); before > 0 && text[before-1] == ':' {
		return 0, 0, false // not the first colon: that one was tried
	}
	groups, compressed, digit := 0, false, false
	i := start
	if text[i] == ':' {
		next := skipInvisible(text, i+1)
		if byteAt(text, next) != ':' {
			return 0, 0, false
		}
		compressed, i = true, next+1
	}
	end = i
	for groups <= 8 {
		j, hex := i, 0
		for hex < 5 {
			k := skipInvisible(text, j)
			if !isHex(byteAt(text, k)) {
				break
			}
			if isDigit(text[k]) {
				digit = true
			}
			j, hex = k+1, hex+1
		}
		if hex == 0 {
			break
		}
		if hex > 4 {
			return 0, 0, false
		}
		if dot := skipInvisible(text, j); byteAt(text, dot) == '.' && isDigit(byteAt(text, skipInvisible(text, dot+1))) {
			quadEnd, ok := dottedQuad(text, i)
			if !ok {
				return 0, 0, false
			}
			groups += 2
			end = quadEnd
			break
		}
		groups++
		i, end = j, j
		if c := skipInvisible(text, i); byteAt(text, c) == ':' {
			next := skipInvisible(text, c+1)
			if byteAt(text, next) == ':' {
				if compressed {
					return 0, 0, false
				}
				compressed, i = true, next+1
				end = i
				continue
			}
			if isHex(byteAt(text, next)) {
				i = next
				continue
			}
		}
		break
	}
	if groups == 0 || !digit || groups > 8 || !compressed && groups != 8 || compressed && groups > 7 {
		return 0, 0, false
	}
	if gluedBefore(text, start) || gluedAfter(text, end) && !prefixLengthAt(text, end) {
		return 0, 0, false
	}
	return start, end, true
}

// prefixLengthAt reports whether a prefix length ("/64") starts at
// text[i]: like IPv4's, it follows the address and is not part of the
// match ("inet6 2001:db8::1/64 scope global").
func prefixLengthAt(text []byte, i int) bool {
	return i+1 < len(text) && text[i] == '/' && isDigit(text[i+1])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
