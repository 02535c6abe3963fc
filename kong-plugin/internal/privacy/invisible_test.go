package privacy

import (
	"testing"

	"github.com/modelgate/modelgate/shared/tensor"
)

// TestMaskRemovesInvisibleCharacters: a format character inside a value
// (the sidecar's tokenizer splits on it, so the model would read the value
// as if it were not there) is part of the finding, and masking removes it
// with the value; whitespace between groups is a separator like a space.
func TestMaskRemovesInvisibleCharacters(t *testing.T) {
	p := compile(t, Config{Detectors: []string{"email", "credit_card", "ip_address"}})
	for _, tt := range []struct{ text, want string }{
		{"john\u200b@example.com", "<EMAIL>"},
		{"write to jo\u00adhn@exam\u200cple.com today", "write to <EMAIL> today"},
		{"card 4111\t1111\n1111\u20091111, host 192\u200b.168.1.1", "card <CREDIT_CARD>, host <IP_ADDRESS>"},
	} {
		if got := string(p.Scan("alice", "").Text([]byte(tt.text))); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}

	// The same in a BYTES tensor element, the path every model input takes.
	raw := tensor.EncodeBytes([][]byte{[]byte("john\u200b@example.com")})
	out, err := p.Scan("alice", "").Elements(raw, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tensor.DecodeBytes(out, 1)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0]) != "<EMAIL>" {
		t.Errorf("element %q, want %q", got[0], "<EMAIL>")
	}
}
