package detect

// ibanEnd reports where the IBAN starting at text[start] ends, or -1: a
// country code of the registry, two check digits, the country's number of
// further characters (capital letters and digits), written as one run or
// in groups of four separated by single whitespace characters, whose ISO
// 7064 mod 97-10 check comes to 1. Format characters inside it are
// skipped.
func ibanEnd(text []byte, start int) int {
	if start+2 > len(text) || !isUpper(text[start]) || !isUpper(text[start+1]) {
		return -1
	}
	length := ibanLengths[string(text[start:start+2])]
	if length == 0 || gluedBefore(text, start) {
		return -1
	}
	// mod 97 of the BBAN, then the country code and check digits moved to
	// its end, letters counting as 10 (A) to 35 (Z).
	head := [4]byte{text[start], text[start+1]}
	rem, count, i := 0, 2, start+2
	for count < length {
		at := skipInvisible(text, i)
		if _, size := whitespaceAt(text, at); count%4 == 0 && size > 0 && isUpperOrDigit(byteAt(text, skipInvisible(text, at+size))) {
			at = skipInvisible(text, at+size)
		}
		c := byteAt(text, at)
		if count < 4 && !isDigit(c) || !isUpperOrDigit(c) {
			return -1
		}
		if count < 4 {
			head[count] = c
		} else {
			rem = mod97(rem, c)
		}
		count++
		i = at + 1
	}
	for _, c := range head {
		rem = mod97(rem, c)
	}
	// A further group of digits means a longer number, not an IBAN.
	if rem != 1 || gluedAfter(text, i) {
		return -1
	}
	if kind, size := whitespaceAt(text, i); kind == ' ' && isDigit(byteAt(text, i+size)) {
		return -1
	}
	return i
}

// byteAt is text[i], or 0 past its end.
func byteAt(text []byte, i int) byte {
	if i >= len(text) {
		return 0
	}
	return text[i]
}

func mod97(rem int, c byte) int {
	if isDigit(c) {
		return (rem*10 + int(c-'0')) % 97
	}
	return (rem*100 + int(c-'A') + 10) % 97
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

func isUpperOrDigit(c byte) bool { return isUpper(c) || isDigit(c) }

// ibanLengths is each country's IBAN length, from SWIFT's IBAN registry.
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
	"BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
	"EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
	"GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
	"JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
	"MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
	"NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
	"SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}
