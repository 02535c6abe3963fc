package jsontensor

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"
	"unicode/utf8"

	"github.com/modelgate/modelgate/shared/tensor"
)

var fuzzDataTypes = []tensor.DataType{tensor.Bool, tensor.UInt8, tensor.UInt16, tensor.UInt32, tensor.UInt64,
	tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64, tensor.FP16, tensor.FP32, tensor.FP64, tensor.Bytes}

// FuzzParseData checks the hand-written `data` parser against
// encoding/json: whatever it accepts from valid JSON must be the same
// elements, in the same order, that encoding/json reads.
func FuzzParseData(f *testing.F) {
	for _, s := range []struct {
		typ  uint8
		data string
		n    int64
	}{
		{8, `[[1,2],[3,-4]]`, 4}, {8, `[1e3, 2.0, -0]`, 3}, {11, `[1.5,-2.25e-3,1e308]`, 3},
		{0, `[true,false]`, 2}, {12, `["a","b\"c","\u0000"]`, 3}, {10, `[3.4e38]`, 1},
		{4, `[18446744073709551615]`, 1}, {5, `[-128,127]`, 2}, {9, `[65504,-0.0001]`, 2},
		{8, `7`, 1}, {8, `[]`, 0}, {8, `[[],[]]`, 0}, {8, `[1,]`, 1}, {8, `[1 2]`, 2}, {11, `[NaN]`, 1},
	} {
		f.Add(s.typ, []byte(s.data), s.n)
	}
	f.Fuzz(func(t *testing.T, typ uint8, src []byte, want int64) {
		if want < 0 || want > 1<<16 {
			// decodeInput passes ElementCount's result, bounded by max_elements.
			return
		}
		dt := fuzzDataTypes[int(typ)%len(fuzzDataTypes)]
		raw, err := ParseData(dt, src, want)
		if err != nil {
			return
		}
		if err := tensor.CheckRaw(dt, []int64{want}, raw, 0); err != nil {
			t.Fatalf("parsed %s data that CheckRaw refuses: %v", dt, err)
		}
		if !json.Valid(src) {
			return
		}
		d := json.NewDecoder(bytes.NewReader(src))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("json.Valid but not decodable: %v", err)
		}
		leaves := flatten(v, nil)
		if int64(len(leaves)) != want {
			t.Fatalf("parsed %d elements, encoding/json sees %d", want, len(leaves))
		}
		compareLeaves(t, dt, raw, leaves)
	})
}

func flatten(v any, out []any) []any {
	if a, ok := v.([]any); ok {
		for _, e := range a {
			out = flatten(e, out)
		}
		return out
	}
	return append(out, v)
}

func compareLeaves(t *testing.T, dt tensor.DataType, raw []byte, leaves []any) {
	t.Helper()
	le := binary.LittleEndian
	switch dt {
	case tensor.Bool:
		for i, l := range leaves {
			if b, ok := l.(bool); !ok || (raw[i] == 1) != b || raw[i] > 1 {
				t.Fatalf("element %d: parsed %d, encoding/json %v", i, raw[i], l)
			}
		}
	case tensor.Int64:
		for i, l := range leaves {
			n, ok := l.(json.Number)
			got := int64(le.Uint64(raw[8*i:]))
			if !ok {
				t.Fatalf("element %d: parsed %d from %v", i, got, l)
			}
			if want, err := n.Int64(); err == nil && got != want {
				t.Fatalf("element %d: parsed %d, encoding/json %d", i, got, want)
			}
			if f, err := n.Float64(); err != nil || f != math.Trunc(f) || math.Abs(float64(got)-f) > math.Abs(f)*1e-15+1 {
				t.Fatalf("element %d: parsed %d from %s", i, got, n)
			}
		}
	case tensor.FP64:
		for i, l := range leaves {
			n, ok := l.(json.Number)
			got := math.Float64frombits(le.Uint64(raw[8*i:]))
			want, err := n.Float64()
			if !ok || err != nil || math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("element %d: parsed %v, encoding/json %v (%v)", i, got, l, err)
			}
		}
	case tensor.FP32:
		for i, l := range leaves {
			n, ok := l.(json.Number)
			got := math.Float32frombits(le.Uint32(raw[4*i:]))
			if !ok || math.IsNaN(float64(got)) || math.IsInf(float64(got), 0) {
				t.Fatalf("element %d: parsed %v from %v", i, got, l)
			}
			if f, err := n.Float64(); err == nil && float32(f) != got && !(f != 0 && math.Abs(float64(got)-f) <= math.Abs(f)*1e-6) {
				t.Fatalf("element %d: parsed %v, encoding/json %v", i, got, f)
			}
		}
	case tensor.Bytes:
		elems, err := tensor.DecodeBytes(raw, int64(len(leaves)))
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range leaves {
			s, ok := l.(string)
			// Invalid UTF-8 inside a JSON string passes through as raw bytes
			// (BYTES may be binary), where encoding/json would put U+FFFD.
			if ok && !utf8.Valid(elems[i]) {
				continue
			}
			if !ok || string(elems[i]) != s {
				t.Fatalf("element %d: parsed %q, encoding/json %q", i, elems[i], l)
			}
		}
	}
}
