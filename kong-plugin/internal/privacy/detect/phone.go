package detect

// isPhone reports whether the digit run is a telephone number: an
// international one (+ or 00, a calling code, the national number) or a
// national one of China, the US and Canada, the UK or Germany. Only an
// international number may be wrapped across lines.
func isPhone(n *number) bool {
	if n.overflow || n.n < 8 {
		return false
	}
	if n.separatedBy('\n') && !n.plus {
		// National formats' groups are short and their checks weak: on
		// separate lines they are as often a list of quantities ("4308",
		// "0230", "0253", "1576" one per line).
		return false
	}
	switch {
	case n.plus:
		return isInternationalPhone(n, 0)
	case n.digits[0] == 0 && n.digits[1] == 0 && n.ng > 1:
		// The international prefix 00, in a number written in groups:
		// a bare run starting 00 is as often a customer or contract number.
		return isInternationalPhone(n, 2)
	}
	return isNationalPhone(n)
}

// isInternationalPhone checks E.164 after prefix digits: a calling code of
// the table, the national significant number within that country's
// lengths, 15 digits at most in all. A trunk zero in parentheses after the
// calling code, "+49 (0)30 ..." or "+86 (0755) ...", is not part of the
// number.
func isInternationalPhone(n *number, prefix int) bool {
	cc, ccLen, lengths := callingCode(n, prefix)
	// Only the area code (or a trunk zero) may be in parentheses.
	if ccLen == 0 || n.ng > 1 && n.groups[0] != int8(prefix+ccLen) || n.paren == 0 || n.paren > 1 {
		return false
	}
	from, first := prefix+ccLen, 1
	if n.paren == 1 && n.digits[from] == 0 {
		from++
		if n.groups[1] == 1 {
			first = 2 // "(0)": the area code is the next group
		}
	}
	// The area code may be one digit (Paris 1, Sydney 2, Tokyo 3), the
	// groups after it not.
	if !laterGroups(n, first+1) {
		return false
	}
	nsn := n.digits[from:n.n]
	if len(nsn) < int(lengths[0]) || len(nsn) > int(lengths[1]) || ccLen+len(nsn) > 15 {
		return false
	}
	// Italy keeps the trunk zero in the international number.
	if nsn[0] == 0 && cc != 39 {
		return false
	}
	switch cc {
	case 1:
		return nanp(nsn)
	case 86:
		// a mobile, or a landline: area code 10 or 2X and 8 digits, or
		// three digits and 7 or 8
		return cnMobile(nsn) || (nsn[0] == 2 || nsn[0] == 1 && nsn[1] == 0) && len(nsn) == 10 || nsn[0] >= 3 && len(nsn) >= 10
	case 44:
		return nsn[0] == 1 || nsn[0] == 2 || nsn[0] == 3 || nsn[0] == 7 || nsn[0] == 8
	}
	return true
}

// isNationalPhone checks the national formats:
//   - China: mobile 1[3-9] and 9 more digits, as one run or 3-4-4;
//     landline 0, an area code (10, 2X or 3 digits) and 7-8 digits.
//   - US and Canada (NANP): NXX-NXX-XXXX with separators or the area code
//     in parentheses, an optional leading 1; area code and exchange start
//     with 2-9 and are not N11. Ten bare digits are not taken.
//   - UK: 0 and 10 digits, 01/02/03 geographic and national, 07 mobile.
//   - Germany: 0, an area code and the subscriber number, 10 to 12
//     digits in all; mobiles 015x, 016x, 017x.
func isNationalPhone(n *number) bool {
	d := n.digits[:n.n]
	switch {
	case d[0] == 0:
		if n.paren > 0 || n.ng > 5 || d[1] == 0 || !nationalGroups(n) {
			return false
		}
		if d[1] == 1 {
			// UK 01 and Beijing's 010 with 11 digits, German mobiles
			// 015x-017x with 11 or 12
			return len(d) == 11 || (d[2] >= 5 && d[2] <= 7 && len(d) <= 12)
		}
		// German area codes; Chinese ones (2X, 3 digits) with 7-8 more;
		// UK 02, 03 and 07 with 11
		return len(d) >= 10 && len(d) <= 12
	case d[0] == 1 && len(d) == 11 && d[1] >= 3 && n.paren < 0 && (n.ng == 1 || n.grouped(3, 4, 4) || n.grouped(3, 8)):
		return cnMobile(d)
	case d[0] == 1 && len(d) == 11 && n.grouped(1, 3, 3, 4) && (n.paren < 0 || n.paren == 1):
		return nanp(d[1:])
	case len(d) == 10 && n.grouped(3, 3, 4) && n.paren <= 0:
		return nanp(d)
	}
	return false
}

// nationalGroups checks how a number with a trunk zero is written: as
// one run of 11 digits (a UK or Chinese number; ten bare digits are as
// often an account number), or the area code with its zero (3 to 6 digits)
// and then groups of at least 2 digits, the first of them at least 3.
func nationalGroups(n *number) bool {
	if n.ng == 1 {
		return n.n == 11
	}
	return n.groups[0] >= 3 && n.groups[0] <= 6 && n.groups[1] >= 3 && laterGroups(n, 2)
}

// laterGroups reports whether every group from the first one on has at
// least 2 digits, but for a last one after a hyphen: an extension, as in
// German "030 12345678-0".
func laterGroups(n *number, first int) bool {
	for g := first; g < n.ng; g++ {
		if n.groups[g] < 2 && !(g == n.ng-1 && g >= 2 && n.seps[g] == '-') {
			return false
		}
	}
	return true
}

// cnMobile checks a Chinese mobile number: 11 digits, 1[3-9].
func cnMobile(d []byte) bool { return len(d) == 11 && d[0] == 1 && d[1] >= 3 }

// nanp checks a ten-digit NANP number: area code and exchange NXX with N
// 2-9, neither N11.
func nanp(d []byte) bool {
	return len(d) == 10 && d[0] >= 2 && !(d[1] == 1 && d[2] == 1) && d[3] >= 2 && !(d[4] == 1 && d[5] == 1)
}

// callingCode finds the E.164 calling code after the run's first prefix
// digits (calling codes are prefix-free) and its country's national
// number lengths.
func callingCode(n *number, prefix int) (cc, length int, lengths [2]int8) {
	for k := 1; k <= 3 && prefix+k < n.n; k++ {
		cc = n.value(prefix, prefix+k)
		if l, ok := callingCodes[cc]; ok {
			return cc, k, l
		}
	}
	return 0, 0, lengths
}

// callingCodes holds the shortest and longest national significant number
// of each calling code taken, from the ITU's national numbering plans.
var callingCodes = map[int][2]int8{
	1: {10, 10}, 7: {10, 10}, 20: {8, 10}, 27: {9, 9}, 30: {10, 10}, 31: {9, 9}, 32: {8, 9},
	33: {9, 9}, 34: {9, 9}, 36: {8, 9}, 39: {6, 11}, 40: {9, 9}, 41: {9, 9}, 43: {4, 13},
	44: {9, 10}, 45: {8, 8}, 46: {7, 10}, 47: {8, 8}, 48: {9, 9}, 49: {6, 13}, 51: {8, 9},
	52: {10, 10}, 53: {8, 8}, 54: {10, 11}, 55: {10, 11}, 56: {9, 9}, 57: {8, 10}, 58: {10, 10},
	60: {7, 10}, 61: {9, 9}, 62: {8, 12}, 63: {8, 10}, 64: {8, 10}, 65: {8, 8}, 66: {8, 9},
	81: {9, 10}, 82: {8, 10}, 84: {9, 10}, 86: {10, 11}, 90: {10, 10}, 91: {10, 10}, 92: {9, 10},
	93: {9, 9}, 94: {9, 9}, 95: {7, 10}, 98: {10, 10},
	212: {9, 9}, 213: {9, 9}, 216: {8, 8}, 234: {8, 10}, 254: {9, 9}, 255: {9, 9},
	351: {9, 9}, 352: {6, 11}, 353: {7, 9}, 354: {7, 9}, 355: {8, 9}, 356: {8, 8}, 357: {8, 8},
	358: {5, 12}, 359: {8, 9}, 370: {8, 8}, 371: {8, 8}, 372: {7, 8}, 380: {9, 9}, 381: {8, 9},
	385: {8, 9}, 386: {8, 8}, 420: {9, 9}, 421: {9, 9}, 852: {8, 8}, 853: {8, 8}, 880: {10, 10},
	886: {8, 9}, 966: {9, 9}, 971: {8, 9}, 972: {8, 9}, 974: {8, 8},
}
