package jsontensor

import "github.com/modelgate/modelgate/shared/pb"

// UnbatchedItems is what one input of elements elements counts against the
// item quota (items_per_day) when its model does not batch
// (max_batch_size 0): the elements divided by the elements the model's
// declared shape fixes (the product of its positive dimensions), rounded
// up. A fixed shape counts 1; every variable dimension (-1) is a size the
// client chooses and is counted: [-1, 64] counts rows, [1, -1] positions.
// An input the model does not declare counts 1 (the sidecar refuses it).
func UnbatchedItems(model []*pb.TensorMetadata, name string, elements int64) int64 {
	for _, in := range model {
		if in.GetName() != name {
			continue
		}
		fixed := int64(1)
		for _, d := range in.GetShape() {
			if d > 0 {
				fixed *= d
			}
		}
		if elements <= fixed {
			return 1
		}
		return (elements + fixed - 1) / fixed
	}
	return 1
}
