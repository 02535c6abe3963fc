package detect

// isCard reports whether the digit run is a payment card number: 13 to 19
// digits, written as one run or in groups of four (Amex and Diners: 4-6-5
// and 4-6-4) with one kind of separator, an issuer prefix of a major
// scheme that issues that length, and a valid Luhn check digit.
func isCard(n *number) bool {
	if n.overflow || n.plus || n.paren >= 0 || n.n < 13 || n.n > 19 {
		return false
	}
	if n.ng > 1 && !(n.sameSeps(" -") && cardGroups(n)) {
		return false
	}
	return cardIssuer(n) && luhn(n.digits[:n.n])
}

// cardGroups accepts 4-4-4-4 and its shorter or longer tails (4-4-4-1,
// 4-4-4-4-3) and Amex's and Diners' 4-6-5 and 4-6-4.
func cardGroups(n *number) bool {
	if n.grouped(4, 6, 5) || n.grouped(4, 6, 4) {
		return true
	}
	for i := 0; i < n.ng-1; i++ {
		if n.groups[i] != 4 {
			return false
		}
	}
	return n.groups[n.ng-1] >= 1 && n.groups[n.ng-1] <= 4
}

// cardIssuer checks the issuer identification number's prefix against
// the lengths its scheme issues.
func cardIssuer(n *number) bool {
	l := n.n
	p2, p3, p4 := n.value(0, 2), n.value(0, 3), n.value(0, 4)
	switch {
	case n.digits[0] == 4: // Visa
		return l == 13 || l == 16 || l == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return l == 16
	case p2 == 34 || p2 == 37: // American Express
		return l == 15
	case p4 >= 2200 && p4 <= 2204: // Mir
		return l >= 16
	case p4 == 6011, p3 >= 644 && p3 <= 649, p2 == 65: // Discover
		return l >= 16
	case p4 >= 3528 && p4 <= 3589: // JCB
		return l >= 16
	case p3 >= 300 && p3 <= 305, p4 == 3095, p2 == 36, p2 == 38, p2 == 39: // Diners Club
		return l >= 14
	case p2 == 62: // UnionPay
		return l >= 16
	case p4 == 5018, p4 == 5020, p4 == 5038, p4 == 5893, p4 == 6304, p4 == 6759, p4 >= 6761 && p4 <= 6763: // Maestro
		return true
	}
	return false
}

// luhn checks the Luhn (mod 10) check digit, the last one.
func luhn(digits []byte) bool {
	sum := 0
	for i := range digits {
		d := int(digits[len(digits)-1-i])
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}
