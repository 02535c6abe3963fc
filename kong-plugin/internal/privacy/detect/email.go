package detect

// findEmails finds addresses of the form local@domain.tld, bounded by
// characters that cannot be part of an address.
func findEmails(text []byte, dst []Match) []Match {
	for i := 0; i < len(text); i++ {
		if text[i] != '@' {
			continue
		}
		start := i
		for start > 0 && isLocalByte(text[start-1]) {
			start--
		}
		end, dots := i+1, 0
		for end < len(text) && isDomainByte(text[end]) {
			if text[end] == '.' {
				dots++
			}
			end++
		}
		for end > i+1 && (text[end-1] == '.' || text[end-1] == '-') {
			if text[end-1] == '.' {
				dots--
			}
			end--
		}
		if start == i || dots == 0 || text[i+1] == '.' {
			continue
		}
		dst = append(dst, Match{Kind: "email", Start: start, End: end})
		i = end - 1
	}
	return dst
}

func isLocalByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isDomainByte(c byte) bool { return isAlnum(c) || c == '.' || c == '-' }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
