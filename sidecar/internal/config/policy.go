package config

import (
	"slices"
	"strconv"
)

// Select returns the versions the policy wants among those available, in
// ascending order. Specific versions that are not available are left out
// (the caller reports them as missing).
func (p VersionPolicy) Select(available []int64) []int64 {
	sorted := slices.Clone(available)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	switch {
	case p.All != nil && *p.All:
		return sorted
	case p.Specific != nil:
		var out []int64
		for _, v := range sorted {
			if slices.Contains(p.Specific, strconv.FormatInt(v, 10)) {
				out = append(out, v)
			}
		}
		return out
	default:
		n := DefaultLatest
		if p.Latest != nil {
			n = *p.Latest
		}
		if n > len(sorted) {
			n = len(sorted)
		}
		return sorted[len(sorted)-n:]
	}
}
