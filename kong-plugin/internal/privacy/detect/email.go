package detect

import "bytes"

// emailAt finds the address around the '@' at text[at]: a local part of
// 1 to 64 characters (letters, digits and . _ % + -, no dot first, last
// or twice in a row), a domain of at most 253 characters in two or more
// labels of 1 to 63 letters, digits and hyphens (none first or last), the
// last label, the top-level domain, two or more letters. A dot or hyphen
// after the domain ends the sentence, not the address. Format characters
// inside the address are skipped (and are part of the match).
func emailAt(text []byte, at int) (start, end int, ok bool) {
	// The visible characters, copied so that the rules read them as one
	// run; arrays on the stack, so a miss allocates nothing.
	var local [65]byte
	var domain [254]byte
	n := len(local)
	start = at
	for {
		i := skipInvisibleBack(text, start)
		if i == 0 || !isLocalByte(text[i-1]) {
			break
		}
		if n == 0 {
			return 0, 0, false // longer than 64
		}
		n--
		local[n] = text[i-1]
		start = i - 1
	}
	for n < len(local) && local[n] == '.' {
		n++
		start = skipInvisible(text, start+1)
	}
	l := local[n:]
	if len(l) == 0 || len(l) > 64 || l[len(l)-1] == '.' || bytes.Contains(l, []byte("..")) {
		return 0, 0, false
	}
	d, i := 0, at+1
	end, n = i, 0
	for {
		j := skipInvisible(text, i)
		if j >= len(text) || !isDomainByte(text[j]) {
			break
		}
		if d == len(domain) {
			return 0, 0, false // longer than 253
		}
		domain[d] = text[j]
		d++
		i = j + 1
		if text[j] != '.' && text[j] != '-' {
			end, n = i, d
		}
	}
	if !validDomain(domain[:n]) || !bounded(text, start, end) {
		return 0, 0, false
	}
	return start, end, true
}

// validDomain checks a host name's labels and that it ends in an
// alphabetic top-level domain.
func validDomain(domain []byte) bool {
	labels := 0
	for len(domain) > 0 {
		label := domain
		if dot := bytes.IndexByte(domain, '.'); dot >= 0 {
			label, domain = domain[:dot], domain[dot+1:]
			if len(domain) == 0 {
				return false
			}
		} else {
			domain = nil
		}
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		labels++
		if len(domain) == 0 {
			if labels < 2 || len(label) < 2 {
				return false
			}
			for _, c := range label {
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
					return false
				}
			}
		}
	}
	return labels >= 2
}

func isLocalByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isDomainByte(c byte) bool { return isAlnum(c) || c == '.' || c == '-' }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
