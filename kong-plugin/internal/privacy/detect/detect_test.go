package detect

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// found renders matches as "kind:text" for comparison.
func found(text []byte, matches []Match) []string {
	var out []string
	for _, m := range matches {
		out = append(out, m.Kind+":"+string(text[m.Start:m.End]))
	}
	return out
}

func TestFindEmail(t *testing.T) {
	s, err := New([]string{"email"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	text := []byte("write to ana.silva+films@example.co.uk. or not@all")
	got := s.Find(text, nil)
	want := []Match{{Kind: "email", Start: 9, End: 38}}
	if !slices.Equal(got, want) {
		t.Fatalf("Find = %v, want %v", got, want)
	}
	if string(text[got[0].Start:got[0].End]) != "ana.silva+films@example.co.uk" {
		t.Fatalf("matched %q", text[got[0].Start:got[0].End])
	}
}

// TestFind covers each detector's edges; the corpus test covers them in
// sentences.
func TestFind(t *testing.T) {
	s, err := New(Builtin, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"电话13812345678请回电", []string{"phone:13812345678"}},
		{"手机１３８１２３４５６７８。", []string{"phone:１３８１２３４５６７８"}},
		{"call +1 (212) 555-0147 or 212-555-0147", []string{"phone:+1 (212) 555-0147", "phone:212-555-0147"}},
		{"Tel. +49 (0)30 12345678 / 030/1234567", []string{"phone:+49 (0)30 12345678", "phone:030/1234567"}},
		{"+49 30 12345678-0; +86 (0755) 8765 4321; 0086 138 1234 5678", []string{"phone:+49 30 12345678-0", "phone:+86 (0755) 8765 4321", "phone:0086 138 1234 5678"}},
		{"0049123456 00123456789 0044 1234 5678", nil}, // a bare 00 run; a UK number too short
		{"身份证 110105 19491231 002X", []string{"cn_resident_id:110105 19491231 002X"}},
		{"abc13812345678 and 13812345678x", nil},
		{"13812345678 13912345678 10.0.0.1 2 times", []string{"phone:13812345678", "phone:13912345678", "ip_address:10.0.0.1"}},
		{"030 1234567 13812345678", nil}, // a run of 21 digits whose first group is no number
		{"2125550147", nil},              // ten bare digits: not a NANP number
		{"(212) 155-0147 (911) 555-0147", nil},
		// A parenthesis that opens no area code is the sentence's.
		{"(2221 0000 0000 0009) (73.162.48.5) (551 02 4450) （11010519491231002X）", []string{"credit_card:2221 0000 0000 0009", "ip_address:73.162.48.5", "us_ssn:551 02 4450", "cn_resident_id:11010519491231002X"}},
		{"ORD-2024-000123 at 2024-01-05 12:30:45, v1.2.3.4.5, $1,299.99", nil},
		{"card 4111 1111 1111 1111, amex 3782-822463-10005", []string{"credit_card:4111 1111 1111 1111", "credit_card:3782-822463-10005"}},
		{"4111 1111 1111 1112 and 4111 1111 1111 1111 1111", nil},
		{"IBAN DE89 3704 0044 0532 0130 00.", []string{"iban:DE89 3704 0044 0532 0130 00"}},
		{"DE88370400440532013000 IBANDE89370400440532013000", nil},
		{"hosts 10.0.0.1:8080, 198.51.100.0/24 and [2001:db8::1]:443", []string{"ip_address:10.0.0.1", "ip_address:198.51.100.0", "ip_address:2001:db8::1"}},
		{"::ffff:192.0.2.1 and fe80::1%eth0.", []string{"ip_address:::ffff:192.0.2.1", "ip_address:fe80::1"}},
		{"inet6 2001:db8::1/64 scope global, ::ffff:192.0.2.1/120", []string{"ip_address:2001:db8::1", "ip_address:::ffff:192.0.2.1"}},
		{"256.1.1.1 192.168.01.1 1.2.3.4.5 12:30:45 std::vector 00:1A:2B:3C:4D:5E", nil},
		{"Version 2.1.0.5, build 10.0.19041.1, ver. 1.0.0.1, FW 3.2.1.0 (Wang 13812345678)", []string{"phone:13812345678"}},
		{"身份证号11010519491231002X。", []string{"cn_resident_id:11010519491231002X"}},
		{"11010519491231002x 11010519491231002Ｘ", []string{"cn_resident_id:11010519491231002x", "cn_resident_id:11010519491231002Ｘ"}},
		{"110105194912310021 110105194902300029", nil}, // check digit, 30 February
		{"SSN 078-05-1120 or 078 05 1120", []string{"us_ssn:078-05-1120", "us_ssn:078 05 1120"}},
		{"000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000 123456789 078-05 1120", nil},
		// An address's local part may look like a phone number: the earlier,
		// longer match wins.
		{"13812345678@qq.com", []string{"email:13812345678@qq.com"}},
		{"ana@example.com-x ana..b@example.com a@b.c1", nil},
		// Whitespace separates groups where a space does; format characters
		// (Cf) are invisible inside a candidate and part of its match.
		{"card 4111\t1111\t1111\t1111.", []string{"credit_card:4111\t1111\t1111\t1111"}},
		{"card\n4111\n1111\n1111\n1111\n", []string{"credit_card:4111\n1111\n1111\n1111"}},
		{"4111\r\n1111\r\n1111\r\n1111", []string{"credit_card:4111\r\n1111\r\n1111\r\n1111"}},
		{"4111\u200b1111\u200b1111\u200b1111", []string{"credit_card:4111\u200b1111\u200b1111\u200b1111"}},
		{"4111\u20091111\u20091111\u20091111", []string{"credit_card:4111\u20091111\u20091111\u20091111"}},
		{"4111\u00a01111\u202f1111\u30001111", []string{"credit_card:4111\u00a01111\u202f1111\u30001111"}},
		{"4111 1111\n1111 1111", []string{"credit_card:4111 1111\n1111 1111"}}, // wrapped
		{"41\u00ad11 \u200d1111 1111\ufeff 1111", []string{"credit_card:41\u00ad11 \u200d1111 1111\ufeff 1111"}},
		{"john\u200b@example.com, ana@\u2060example\u200c.com", []string{"email:john\u200b@example.com", "email:ana@\u2060example\u200c.com"}},
		{"jo\u00adhn.\u202edoe@example.com", []string{"email:jo\u00adhn.\u202edoe@example.com"}},
		{"192\u200b.168.1.1 and 10.0\u00ad.0\u200b.1:8080", []string{"ip_address:192\u200b.168.1.1", "ip_address:10.0\u00ad.0\u200b.1"}},
		{"IBAN DE89\t3704\u00a00044\u200b 0532\n0130 00", []string{"iban:DE89\t3704\u00a00044\u200b 0532\n0130 00"}},
		{"DE\u200b89370400440532013000 GB82\u00adWEST12345698765432", []string{"iban:DE\u200b89370400440532013000", "iban:GB82\u00adWEST12345698765432"}},
		{"电话138\u200b1234\u200b5678; +49\n30\u202f12345678", []string{"phone:138\u200b1234\u200b5678", "phone:+49\n30\u202f12345678"}},
		{"110105\t19491231\t002\u200bX", []string{"cn_resident_id:110105\t19491231\t002\u200bX"}},
		{"SSN 078\t05\t1120, 078\u200b-05-1120", []string{"us_ssn:078\t05\t1120", "us_ssn:078\u200b-05-1120"}},
		{"abc\u200b13812345678\u200b", []string{"phone:13812345678"}}, // a format character is no glue
		{"call +\u200b49 30 12345678 or (\u200b212) 555-0147", []string{"phone:+\u200b49 30 12345678", "phone:(\u200b212) 555-0147"}},
		{"2001\u200b:db8::\u200b1 and fe80:\u200c:\u00ad1ff:fe23:4567:890a, ::ffff:192\u200b.0.2.1", []string{"ip_address:2001\u200b:db8::\u200b1", "ip_address:fe80:\u200c:\u00ad1ff:fe23:4567:890a", "ip_address:::ffff:192\u200b.0.2.1"}},
		{"12\u200b:30\u200b:45 std:\u200b:vector 00:1A\u200b:2B:3C:4D:5E", nil},
		{"IBAN DE\u00ad89 3704 0044 0532 0130 00, \u200eMY\u200f CARD 4111\u2066 1111 1111 1111\u2069", []string{"iban:DE\u00ad89 3704 0044 0532 0130 00", "credit_card:4111\u2066 1111 1111 1111"}},
		// A list one number per line: each line on its own.
		{"13812345678\n13912345678\n2\n030 1234567\n030 7654321", []string{"phone:13812345678", "phone:13912345678", "phone:030 1234567", "phone:030 7654321"}},
		{"qty\n12\n13812345678", []string{"phone:13812345678"}},
		{"1 1 1 1 1 1 1 1 1\n13812345678", []string{"phone:13812345678"}},             // a line too long for any number
		{"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n13812345678", []string{"phone:13812345678"}}, // more lines than any number has groups
		{"4111 1111\n1111 1111 1111", nil},                                            // 20 digits across lines: no card, as with spaces
		// Near misses: lists of quantities and prices, SSN and NANP shapes
		// across lines, two whitespace characters between groups.
		{"4000\n2500\n1000\n3750\n", nil},
		{"12.50\n13.75\n9.99\n1,299.00", nil},
		{"078\n05\n1120 and 212\n555\n0147", nil},
		{"stock\n4308\n0230\n0253\n1576\nrooms 138\n1234\n5678", nil}, // national phones across lines
		{"Version\u00a02.1.0.5, build\t10.0.0.1", nil},
		{"4111\t\t1111\t\t1111\t\t1111 4111\n\n1111\n\n1111\n\n1111", nil},
		{"4111\u200b1111\u200b1111\u200b1112 192\u200b.168.01.1", nil},
	} {
		text := []byte(tc.text)
		if got := found(text, s.Find(text, nil)); !slices.Equal(got, tc.want) {
			t.Errorf("Find(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestFindOnlyTheNamedDetectors(t *testing.T) {
	s, err := New([]string{"phone", "iban"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	text := []byte("ana@example.com, 10.0.0.1, 13812345678, 4111111111111111, DE89370400440532013000")
	want := []string{"phone:13812345678", "iban:DE89370400440532013000"}
	if got := found(text, s.Find(text, nil)); !slices.Equal(got, want) {
		t.Fatalf("Find = %q, want %q", got, want)
	}
	if !slices.Equal(s.Kinds(), []string{"phone", "iban"}) {
		t.Fatalf("Kinds = %q", s.Kinds())
	}
}

func TestFindAppendsToDst(t *testing.T) {
	s, err := New(Builtin, nil)
	if err != nil {
		t.Fatal(err)
	}
	dst := []Match{{Kind: "x", Start: 90, End: 99}}
	got := s.Find([]byte("a@example.com b@example.com"), dst)
	want := []Match{{Kind: "x", Start: 90, End: 99}, {Kind: "email", Start: 0, End: 13}, {Kind: "email", Start: 14, End: 27}}
	if !slices.Equal(got, want) {
		t.Fatalf("Find = %v, want %v", got, want)
	}
}

func TestCustomPatterns(t *testing.T) {
	s, err := New([]string{"email"}, []Custom{{Name: "employee_id", Pattern: "EMP-[0-9]{6}"}, {Name: "ticket", Pattern: "[A-Z]{3}-[0-9]+"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Kinds(), []string{"email", "employee_id", "ticket"}) {
		t.Fatalf("Kinds = %q", s.Kinds())
	}
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"badge EMP-123456.", []string{"employee_id:EMP-123456"}},
		{"工号EMP-123456，邮箱ana@example.com", []string{"employee_id:EMP-123456", "email:ana@example.com"}},
		{"XEMP-123456 EMP-123456x ÉEMP-123456 EMP-123456-7", nil},
		// employee_id's match is glued to the 7; ticket's is not.
		{"EMP-1234567", []string{"ticket:EMP-1234567"}},
		// The first match is glued ("XEMP-1"), the search goes on and finds
		// the next.
		{"XEMP-1 ABC-42", []string{"ticket:ABC-42"}},
	} {
		text := []byte(tc.text)
		if got := found(text, s.Find(text, nil)); !slices.Equal(got, tc.want) {
			t.Errorf("Find(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct {
		detectors []string
		custom    []Custom
		naming    string // the error names it
	}{
		{[]string{"nope"}, nil, "nope"},
		{[]string{"email", "email"}, nil, "email"},
		{nil, []Custom{{Name: "phone", Pattern: "x"}}, "phone"},
		{nil, []Custom{{Name: "id", Pattern: "x"}, {Name: "id", Pattern: "y"}}, "id"},
		{nil, []Custom{{Name: "", Pattern: "x+"}}, "x+"},
		{nil, []Custom{{Name: "broken", Pattern: "EMP-[0-9"}}, "broken"},
		{nil, []Custom{{Name: "empty", Pattern: "[0-9]*"}}, "empty"},
		{nil, []Custom{{Name: "anchored", Pattern: "(?m:EMP|^ID)-[0-9]{6}$"}}, "anchored"},
	} {
		_, err := New(tc.detectors, tc.custom)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.naming)) {
			t.Errorf("New(%v, %v) = %v, want an error naming %q", tc.detectors, tc.custom, err, tc.naming)
		}
	}
}

// TestFindAllocatesNothing holds issue 15's goal: text without personal
// data costs the built-in detectors no allocation.
func TestFindAllocatesNothing(t *testing.T) {
	s, err := New(Builtin, nil)
	if err != nil {
		t.Fatal(err)
	}
	text := reviewText(t, 4096)
	if got := s.Find(text, nil); len(got) != 0 {
		t.Fatalf("found %v in the review text", found(text, got))
	}
	if allocs := testing.AllocsPerRun(100, func() { s.Find(text, nil) }); allocs != 0 {
		t.Fatalf("Find allocated %v times per run", allocs)
	}
}

// TestCustomPatternSkipsGluedWords: where a pattern's match is glued, the
// search resumes after the word, not at each of its bytes (which would
// make a long word cost a scan per byte).
func TestCustomPatternSkipsGluedWords(t *testing.T) {
	text := []byte("x1234-5678 4711 ab,cd 电话1")
	for _, tc := range []struct{ start, want int }{
		{1, 11},  // "x1234-5678" is one word (the hyphen joins digits): on to "4711"
		{11, 16}, // from "4711" to "ab"
		{16, 19}, // a comma after a letter does not join: "cd" may start a match
		{22, 25}, // each CJK character stands alone
	} {
		if got := nextUnglued(text, tc.start); got != tc.want {
			t.Errorf("nextUnglued(%q, %d) = %d, want %d", text, tc.start, got, tc.want)
		}
	}
	s, err := New(nil, []Custom{{Name: "digits", Pattern: "[0-9]{4,}"}})
	if err != nil {
		t.Fatal(err)
	}
	long := []byte("x" + strings.Repeat("1234567890", 10000) + " 4711")
	want := []string{"digits:4711"}
	if got := found(long, s.Find(long, nil)); !slices.Equal(got, want) {
		t.Fatalf("Find = %q, want %q", got, want)
	}
}

// TestBounded shows the word-boundary rule on the span "13812345678"
// between its neighbours.
func TestBounded(t *testing.T) {
	for _, tc := range []struct {
		before, after string
		want          bool
	}{
		{"", "", true},
		{"电话", "请回电", true},         // CJK characters stand alone
		{"电话：", "。", true},          // so does full-width punctuation
		{"Tel.", ".", true},         // a dot after a letter, a dot that ends the sentence
		{"Tel:", ",", true},         // a colon after a letter
		{"(", ")", true},            // brackets
		{"abc", "", false},          // a letter
		{"", "x", false},            // a letter after
		{"é", "", false},            // a Latin letter outside ASCII
		{"д", "", false},            // Cyrillic
		{"1", "", false},            // a digit
		{"", "１", false},            // a full-width digit
		{"ORD-", "", false},         // a hyphen after a letter
		{"2024-", "", false},        // a hyphen after a digit
		{"1.", "", false},           // a dot after a digit
		{"", ".5", false},           // a dot before a digit
		{"12:", "", false},          // a colon after a digit
		{"", "-ext", false},         // a hyphen before a letter
		{"x_", "", false},           // an underscore
		{"", "/24", false},          // a slash before a digit
		{"ab,", "", true},           // a comma after a letter
		{"1,", "", false},           // a comma after a digit
		{"- ", " -", true},          // spaces
		{"\u00e9\u0301", "", false}, // a combining mark
	} {
		text := []byte(tc.before + "13812345678" + tc.after)
		start := len(tc.before)
		if got := bounded(text, start, start+11); got != tc.want {
			t.Errorf("bounded(%q) = %v, want %v", text, got, tc.want)
		}
	}
}

// TestFindConcurrently shares one Set between goroutines, as the privacy
// policy does between requests (go test -race checks it).
func TestFindConcurrently(t *testing.T) {
	s, err := New(Builtin, []Custom{{Name: "employee_id", Pattern: "EMP-[0-9]{6}"}})
	if err != nil {
		t.Fatal(err)
	}
	text := []byte("ana@example.com, +49 30 1234567, 4111 1111 1111 1111, EMP-123456")
	want := found(text, s.Find(text, nil))
	if len(want) != 4 {
		t.Fatalf("Find = %q", want)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			var dst []Match
			for range 200 {
				dst = s.Find(text, dst[:0])
				if got := found(text, dst); !slices.Equal(got, want) {
					t.Errorf("Find = %q, want %q", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
