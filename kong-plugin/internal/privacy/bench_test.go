package privacy

import (
	"bytes"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
	"github.com/modelgate/modelgate/shared/tensor"
)

// BenchmarkElements is the policy's cost on a BYTES tensor of 16 texts of
// 64 bytes, the built email detector on: clean (the common case: nothing
// found, the data passed on as it is) and with one address per text
// (masked: the tensor rebuilt).
func BenchmarkElements(b *testing.B) {
	p, err := New(Config{Detectors: []string{"email"}}, secret.WatchOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name, text string
	}{
		{"clean", "a wonderful film, I loved every minute of it and would see again"},
		{"masked", "a wonderful film, write to ana.silva@example.com, see it again!!"},
	} {
		elems := make([][]byte, 16)
		for i := range elems {
			elems[i] = []byte(tc.text)
		}
		raw := tensor.EncodeBytes(elems)
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				out, err := p.Scan("alice", "").Elements(raw, 1<<20)
				if err != nil || (tc.name == "masked") == bytes.Equal(out, raw) {
					b.Fatal("unexpected result", err)
				}
			}
		})
	}
}
