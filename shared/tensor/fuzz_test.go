package tensor

import (
	"bytes"
	"errors"
	"testing"
)

// The fuzz targets run for a few seconds in `make test`; their seed corpus
// is in testdata/fuzz. They check the invariants the gateway and the sidecar
// rely on when a client controls every byte: no panic, no allocation driven
// by a claimed size, and an accepted tensor holds exactly what its shape says.

var fuzzTypes = []DataType{Bool, UInt8, UInt16, UInt32, UInt64, Int8, Int16, Int32, Int64, FP16, FP32, FP64, Bytes}

func FuzzCheckRaw(f *testing.F) {
	f.Add(uint8(10), uint8(2), int64(2), int64(3), int64(0), int64(0), make([]byte, 24), int64(0))
	f.Add(uint8(12), uint8(1), int64(2), int64(0), int64(0), int64(0), EncodeBytes([][]byte{[]byte("a"), {}}), int64(10))
	f.Add(uint8(8), uint8(3), int64(-1), int64(4), int64(1), int64(0), []byte{1, 2, 3}, int64(0))
	f.Add(uint8(6), uint8(4), int64(1<<40), int64(1<<40), int64(1<<40), int64(1<<40), []byte{}, int64(100))
	f.Fuzz(func(t *testing.T, typ, rank uint8, d0, d1, d2, d3 int64, raw []byte, maxElements int64) {
		dt := fuzzTypes[int(typ)%len(fuzzTypes)]
		shape := []int64{d0, d1, d2, d3}[:int(rank)%5]
		err := CheckRaw(dt, shape, raw, maxElements)
		if err != nil {
			if !errors.Is(err, ErrShape) {
				t.Fatalf("CheckRaw error does not wrap ErrShape: %v", err)
			}
			return
		}
		n, err := ElementCount(shape, maxElements)
		if err != nil {
			t.Fatalf("CheckRaw accepted %v but ElementCount refuses it: %v", shape, err)
		}
		if maxElements > 0 && n > maxElements {
			t.Fatalf("accepted %d elements over the maximum %d", n, maxElements)
		}
		for _, d := range shape {
			if d < 0 {
				t.Fatalf("accepted negative dimension in %v", shape)
			}
		}
		if dt != Bytes {
			if int64(len(raw)) != n*int64(dt.Size()) {
				t.Fatalf("%s %v accepted with %d bytes", dt, shape, len(raw))
			}
			return
		}
		elems, err := DecodeBytes(raw, n)
		if err != nil || int64(len(elems)) != n {
			t.Fatalf("CheckRaw accepted BYTES that DecodeBytes refuses: %v", err)
		}
	})
}

func FuzzDecodeBytes(f *testing.F) {
	f.Add(EncodeBytes([][]byte{[]byte("hello"), []byte(""), []byte("world")}), int64(3))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 'x'}, int64(1))
	f.Add([]byte{1, 0, 0, 0}, int64(1))
	f.Add([]byte{}, int64(1<<62))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0}, int64(0))
	f.Add([]byte{1, 0, 0, 0, 'x'}, int64(-1))
	f.Fuzz(func(t *testing.T, raw []byte, n int64) {
		elems, err := DecodeBytes(raw, n)
		if n < 0 && err == nil {
			t.Fatalf("DecodeBytes(%d elements) accepted a negative count", n)
		}
		if err != nil {
			if !errors.Is(err, ErrShape) {
				t.Fatalf("DecodeBytes error does not wrap ErrShape: %v", err)
			}
			return
		}
		if int64(len(elems)) != n {
			t.Fatalf("asked for %d elements, got %d", n, len(elems))
		}
		// An accepted buffer is exactly the encoding of its elements: no trailing bytes, no overlap.
		if again := EncodeBytes(elems); !bytes.Equal(again, raw) {
			t.Fatalf("re-encoding %d elements gives %x, want %x", len(elems), again, raw)
		}
	})
}

func FuzzBytesRoundTrip(f *testing.F) {
	f.Add([]byte("a\x00bc\x00\x00d"), byte(0))
	f.Add([]byte{}, byte(1))
	f.Fuzz(func(t *testing.T, joined []byte, sep byte) {
		elems := bytes.Split(joined, []byte{sep})
		got, err := DecodeBytes(EncodeBytes(elems), int64(len(elems)))
		if err != nil {
			t.Fatalf("decoding an encoding of %d elements: %v", len(elems), err)
		}
		for i := range elems {
			if !bytes.Equal(got[i], elems[i]) {
				t.Fatalf("element %d: got %q, want %q", i, got[i], elems[i])
			}
		}
	})
}
