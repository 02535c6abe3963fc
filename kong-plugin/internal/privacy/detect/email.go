package detect

import "bytes"

// emailAt finds the address around the '@' at text[at]: a local part of
// 1 to 64 characters (letters, digits and . _ % + -, no dot first, last
// or twice in a row), a domain of at most 253 characters in two or more
// labels of 1 to 63 letters, digits and hyphens (none first or last), the
// last label, the top-level domain, two or more letters. A dot or hyphen
// after the domain ends the sentence, not the address.
func emailAt(text []byte, at int) (start, end int, ok bool) {
	start = at
	for start > 0 && at-start <= 64 && isLocalByte(text[start-1]) {
		start--
	}
	if start > 0 && isLocalByte(text[start-1]) {
		return 0, 0, false // longer than 64
	}
	for start < at && text[start] == '.' {
		start++
	}
	local := text[start:at]
	if len(local) == 0 || local[len(local)-1] == '.' || bytes.Contains(local, []byte("..")) {
		return 0, 0, false
	}
	end = at + 1
	for end < len(text) && end-at <= 254 && isDomainByte(text[end]) {
		end++
	}
	if end < len(text) && isDomainByte(text[end]) {
		return 0, 0, false // longer than 253
	}
	for end > at+1 && (text[end-1] == '.' || text[end-1] == '-') {
		end--
	}
	if !validDomain(text[at+1:end]) || !bounded(text, start, end) {
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
