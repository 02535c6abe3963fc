package oip

import (
	"testing"

	"github.com/modelgate/modelgate/internal/oiptest"
)

// BenchmarkCheckDecode: what the gateway spends on a batch of 32 rows of 64
// INT64 token ids (the shipped model's input) sent as JSON and as binary
// tensor data, from the body to the sidecar's request.
func BenchmarkCheckDecode(b *testing.B) {
	ids := make([]int64, 32*64)
	for i := range ids {
		ids[i] = int64(i*7919) % 30000
	}
	for _, binary := range []bool{false, true} {
		in := oiptest.Input{Name: "tokens", Datatype: "INT64", Shape: []int64{32, 64}, JSONData: ids, Raw: oiptest.LE(ids), Binary: binary}
		body, h, err := oiptest.Request{Inputs: []oiptest.Input{in}}.Encode()
		if err != nil {
			b.Fatal(err)
		}
		name := "json"
		if binary {
			name = "binary"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for i := 0; i < b.N; i++ {
				c := &codec{header: h, body: body, answerHeaderLen: -1}
				if err := c.Admit(1 << 20); err != nil {
					b.Fatal(err)
				}
				if _, err := c.Check(1 << 20); err != nil {
					b.Fatal(err)
				}
				if _, err := c.checked.decode(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
