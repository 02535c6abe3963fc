package detect

import (
	"net/mail"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// withoutInvisible is b without its format characters.
func withoutInvisible(b []byte) string {
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, string(b))
}

// FuzzFind checks Find's promises on any text: no panic, matches inside
// the text, sorted, not overlapping, each of a kind of the set, and the
// same answer twice; and holds two detectors to the standard library's
// parsers: every address found parses with net/netip, every email address
// with net/mail.
func FuzzFind(f *testing.F) {
	for _, seed := range []string{
		"call +49 (0)30 12345678 or 13812345678, card 4111 1111 1111 1111",
		"IBAN DE89 3704 0044 0532 0130 00, ip 10.0.0.1:8080 and [2001:db8::1]:443",
		"身份证号11010519491231002X，SSN 078-05-1120，ana@example.com",
		"１３８１２３４５６７８ ＋86（010）１２３４５６７８ EMP-123456",
		"1.2.3.4.5 12:30:45 ::ffff:1.2.3.4 (((((+1 ((212)) @@a.b",
		"4111\t1111\n1111\u200b1111 john\u200b@example.com 192\u200b.168.1.1 DE\u00ad89 3704\u00a00044 0532 0130 00",
		"2001\u200b:db8::\u200b1 fe80:\u200c:1 ::ffff:192\u200b.0.2.1/64 12\u200b:30:45",
	} {
		f.Add([]byte(seed))
	}
	s, err := New(Builtin, []Custom{{Name: "employee_id", Pattern: "EMP-[0-9]{6}"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		got := s.Find(text, nil)
		end := 0
		for _, m := range got {
			if m.Start < end || m.End <= m.Start || m.End > len(text) {
				t.Fatalf("match %v out of order, overlapping or out of bounds (len %d) in %v", m, len(text), got)
			}
			if !slices.Contains(s.Kinds(), m.Kind) {
				t.Fatalf("match %v of an unknown kind", m)
			}
			end = m.End
			// Format characters inside a match are skipped by the
			// detectors and removed with it: the parsers see the rest.
			switch matched := withoutInvisible(text[m.Start:m.End]); m.Kind {
			case KindIPAddress:
				if _, err := netip.ParseAddr(matched); err != nil {
					t.Fatalf("ip_address %q: %v", matched, err)
				}
			case KindEmail:
				if _, err := mail.ParseAddress(matched); err != nil {
					t.Fatalf("email %q: %v", matched, err)
				}
			}
		}
		if again := s.Find(text, nil); !slices.Equal(again, got) {
			t.Fatalf("Find = %v, then %v", got, again)
		}
	})
}
