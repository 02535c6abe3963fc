package detect

// cnIDEnd reports where a Chinese resident identity card number (GB 11643)
// that fills the digit run ends, or -1: 17 digits and a check character
// (a digit or X), the first two a province code, then a valid birth date
// YYYYMMDD, the check character ISO 7064 MOD 11-2. Written as one run, as
// the card prints it, or as region, birth date and the rest: 6-8-4.
func cnIDEnd(text []byte, n *number) int {
	if n.plus || n.paren >= 0 || n.ng != 1 && !((n.grouped(6, 8, 4) || n.grouped(6, 8, 3)) && n.sameSeps(" -")) {
		return -1
	}
	end, check := n.end, -1
	switch n.n {
	case 18:
		check = int(n.digits[17])
	case 17:
		if x := skipInvisible(text, end); xAt(text, x) > 0 {
			check, end = 10, x+xAt(text, x)
		}
	}
	if check < 0 || !cnProvince(n.value(0, 2)) || !validDate(n.value(6, 10), n.value(10, 12), n.value(12, 14)) {
		return -1
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(n.digits[i]) * w
	}
	if (12-sum%11)%11 != check {
		return -1
	}
	return end
}

// cnProvince reports whether p is a province-level division's code
// (GB/T 2260), the first two digits of a resident ID number.
func cnProvince(p int) bool {
	switch {
	case p >= 11 && p <= 15, p >= 21 && p <= 23, p >= 31 && p <= 37, p >= 41 && p <= 46,
		p >= 50 && p <= 54, p >= 61 && p <= 65, p == 71, p >= 81 && p <= 83:
		return true
	}
	return false
}

// validDate reports whether y-m-d is a calendar date from 1900 to 2099.
func validDate(y, m, d int) bool {
	if y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

// xAt reads the check character X, ASCII or full-width, either case.
func xAt(text []byte, i int) int {
	if size := asciiOrFullWidth(text, i, 'X', 0xB8); size > 0 {
		return size
	}
	if i < len(text) && text[i] == 'x' {
		return 1
	}
	if i+2 < len(text) && text[i] == 0xEF && text[i+1] == 0xBD && text[i+2] == 0x98 {
		return 3 // U+FF58
	}
	return 0
}
