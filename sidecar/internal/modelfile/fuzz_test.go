package modelfile

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// FuzzParseKey: a key is accepted only as exactly 32 bytes, and an error
// never repeats its input.
func FuzzParseKey(f *testing.F) {
	f.Add([]byte(hex.EncodeToString(bytes.Repeat([]byte{1}, 32))))
	f.Add([]byte("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="))
	f.Add([]byte("0123456789abcdef0123456789abcdef"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		k, err := ParseKey(raw)
		if err == nil && len(k) != 32 {
			t.Fatalf("accepted a %d-byte key", len(k))
		}
		if err != nil && !errors.Is(err, ErrKeyEncoding) {
			t.Fatalf("error of another kind: %v", err)
		}
		if err != nil && len(raw) >= 8 && bytes.Contains([]byte(err.Error()), raw) {
			t.Fatalf("the error repeats the input: %v", err)
		}
	})
}

// FuzzDecrypt: any file content decrypts only to what Encrypt sealed for
// the same identity, and never panics.
func FuzzDecrypt(f *testing.F) {
	key := bytes.Repeat([]byte{7}, 32)
	sealed, err := Encrypt(key, []byte("model"), sentiment1)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add(sealed[:len(BoundMagic)+NonceSize])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		plain, _, err := Decrypt(key, data, sentiment1)
		if err == nil && !bytes.Equal(plain, []byte("model")) {
			t.Fatalf("forged file decrypted to %q", plain)
		}
	})
}
