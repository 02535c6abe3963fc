package batch

import (
	"slices"
	"testing"
)

func TestFloat16Bits(t *testing.T) {
	cases := map[float32]uint16{
		0: 0, 1: 0x3c00, -2: 0xc000, 0.5: 0x3800, 65504: 0x7bff, 1e6: 0x7c00,
		0.1: 0x2e66, 5.960464e-8: 0x0001, 1e-7: 0x0002, 6.1035156e-5: 0x0400, 1e-9: 0,
	}
	for f, want := range cases {
		if got := float16Bits(f); got != want {
			t.Errorf("float16Bits(%g) = %#04x, want %#04x", f, got, want)
		}
	}
}

func TestCopyPadded(t *testing.T) {
	dst := make([]byte, 2*3*4)
	fill(dst, []byte{9})
	src := []byte{1, 2, 3, 4, 5, 6} // [2, 1, 3]
	copyPadded(dst, []int64{2, 3, 4}, src, []int64{2, 1, 3}, 1)
	want := []byte{
		1, 2, 3, 9, 9, 9, 9, 9, 9, 9, 9, 9,
		4, 5, 6, 9, 9, 9, 9, 9, 9, 9, 9, 9,
	}
	if !slices.Equal(dst, want) {
		t.Errorf("got %v, want %v", dst, want)
	}
}

func TestPreferredPrefix(t *testing.T) {
	b := &Batcher{preferred: preferredSizes([]int{8, 4, 4, 0, 99}, 16)}
	if !slices.Equal(b.preferred, []int{4, 8}) {
		t.Fatalf("preferred %v", b.preferred)
	}
	mk := func(items ...int) []*request {
		var rs []*request
		for _, n := range items {
			rs = append(rs, &request{items: n})
		}
		return rs
	}
	for _, c := range []struct {
		items []int
		want  int
	}{
		{[]int{1, 1, 1}, 0}, {[]int{1, 1, 1, 1}, 4}, {[]int{2, 2, 3, 1}, 4}, {[]int{3, 3}, 0}, {[]int{2, 2, 1, 3, 5}, 4},
	} {
		if got := b.preferredPrefix(mk(c.items...)); got != c.want {
			t.Errorf("preferredPrefix(%v) = %d, want %d", c.items, got, c.want)
		}
	}
}
