package privacy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrTooLarge is returned when rewritten data would grow past its limit.
var ErrTooLarge = errors.New("rewritten text too large")

// Elements applies the policy to every element of a BYTES tensor's raw
// data (each element a 4-byte little-endian length, then its bytes, as
// shared/tensor packs them) and returns the data, rebuilt with each
// element's new length when the action rewrites and something was found,
// else raw itself. raw is never written to. The rebuilt data is sized
// from the matches found, never from a length the data declares, and
// may not grow past limit bytes.
func (s *Scan) Elements(raw []byte, limit int) ([]byte, error) {
	s.matches = s.matches[:0]
	for off := 0; off < len(raw); {
		from, to, err := element(raw, off)
		if err != nil {
			return nil, err
		}
		n := len(s.matches)
		s.matches = s.find(raw[from:to], s.matches)
		for i := n; i < len(s.matches); i++ {
			s.matches[i].Start += from
			s.matches[i].End += from
		}
		off = to
	}
	found := s.matches
	if len(found) == 0 || !s.rewrites() {
		return raw, nil
	}
	size := len(raw) + s.growth(found)
	if size > limit {
		return nil, fmt.Errorf("%w: %d bytes once rewritten, over the limit of %d", ErrTooLarge, size, limit)
	}
	out := make([]byte, 0, size)
	for off := 0; off < len(raw); {
		from, to, _ := element(raw, off)
		k := 0
		for k < len(found) && found[k].Start < to {
			k++
		}
		mine := found[:k]
		found = found[k:]
		n := to - from + s.growth(mine)
		if n > math.MaxUint32 {
			return nil, fmt.Errorf("%w: one text would be %d bytes once rewritten", ErrTooLarge, n)
		}
		out = binary.LittleEndian.AppendUint32(out, uint32(n))
		out = s.appendRewritten(out, raw[:to], from, mine)
		off = to
	}
	return out, nil
}

// element returns where the element whose length prefix is at off lies.
func element(raw []byte, off int) (from, to int, err error) {
	if len(raw)-off < 4 {
		return 0, 0, fmt.Errorf("BYTES element at byte %d has no whole length prefix", off)
	}
	l := uint64(binary.LittleEndian.Uint32(raw[off:]))
	from = off + 4
	if l > uint64(len(raw)-from) {
		return 0, 0, fmt.Errorf("BYTES element at byte %d claims %d bytes, %d are left", off, l, len(raw)-from)
	}
	return from, from + int(l), nil
}
