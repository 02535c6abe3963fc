package detect

// isSSN reports whether the digit run is a US Social Security number,
// AAA-GG-SSSS with dashes or spaces: area not 000, 666 or 900-999, group
// not 00, serial not 0000. Nine digits without separators are not taken:
// they are as often an order or account number, and no check digit tells
// them apart; for the same reason nor are groups on separate lines (a
// list of three quantities).
func isSSN(n *number) bool {
	if n.plus || n.paren >= 0 || !n.grouped(3, 2, 4) || !n.sameSeps("- ") || n.separatedBy('\n') {
		return false
	}
	area, group, serial := n.value(0, 3), n.value(3, 5), n.value(5, 9)
	return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}
