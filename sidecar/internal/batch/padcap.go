package batch

// DefaultMaxPaddedElements bounds one padded input of a merged batch when
// Config.MaxPaddedElements is unset: the sidecar's default --max-elements,
// the most one request's tensor may hold.
const DefaultMaxPaddedElements = 16 << 20

// padExtent follows, while a batch forms, the longest extent of each padded
// input along each non-batch dim: what mergePadded will allocate. Each
// request is within --max-elements on its own, but requests whose dims
// differ on different axes (one [1, 1, 100000], one [1, 100000, 1]) would
// pad to the product of every axis's longest; a request that would take a
// padded input past the cap waits for the next batch instead.
type padExtent struct {
	dims [][]int64 // per input (nil where the input is not padded), the longest dims[1:]
}

func (b *Batcher) newPadExtent(r *request) padExtent {
	if len(b.cfg.PadValues) == 0 {
		return padExtent{}
	}
	p := padExtent{dims: make([][]int64, len(r.inputs))}
	for i, t := range r.inputs {
		if _, pad := b.cfg.PadValues[t.Name]; pad {
			p.dims[i] = append([]int64(nil), t.Shape[1:]...)
		}
	}
	return p
}

// fits reports whether the batch, with r added (items rows in all), keeps
// every padded input within the cap; if so it takes r's extents in.
func (b *Batcher) fits(p *padExtent, r *request, items int) bool {
	if p.dims == nil {
		return true
	}
	limit := b.maxPadded()
	grown := make([][]int64, len(p.dims))
	for i, dims := range p.dims {
		if dims == nil {
			continue
		}
		shape := r.inputs[i].Shape[1:]
		if len(shape) != len(dims) {
			return false // a different rank cannot merge: the key already keeps these apart
		}
		grown[i] = make([]int64, len(dims))
		n := float64(items)
		for axis, d := range dims {
			grown[i][axis] = max(d, shape[axis])
			n *= float64(grown[i][axis])
		}
		if n > float64(limit) {
			return false
		}
	}
	p.dims = grown
	return true
}

// maxPadded is the cap fits applies, for mergePadded's last check before it
// allocates.
func (b *Batcher) maxPadded() int64 {
	if b.cfg.MaxPaddedElements > 0 {
		return b.cfg.MaxPaddedElements
	}
	return DefaultMaxPaddedElements
}
