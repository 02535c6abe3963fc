package oip

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol/jsontensor"
	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
)

// Triton's classification extension (server docs/protocol/
// extension_classification.md, r24.x): parameters.classification = k on a
// requested output answers, per batch item, the k largest of its values as
// BYTES "score:index:label" (":label" only where the model has a label for
// that index), the score as C++'s std::to_string writes a float (six
// decimals), the shape [batch, k] for a batching model, else [k].

// checkClassification refuses classification of an output whose values
// are not numbers, with the model's metadata at hand (a 400, where the
// same found in Encode would be the sidecar's 500).
func (c *checkedInfer) checkClassification(meta *pb.ModelMetadataResponse) error {
	for _, o := range c.req.Outputs {
		if o.Parameters.Classification == 0 {
			continue
		}
		for _, m := range meta.GetOutputs() {
			if m.GetName() == o.Name && !classifiable(tensor.DataType(m.GetDatatype())) {
				return fmt.Errorf("output %s: classification needs numbers, the output is %s", o.Name, m.GetDatatype())
			}
		}
	}
	return nil
}

func classifiable(dt tensor.DataType) bool {
	return dt != tensor.Bytes && dt != tensor.Bool && dt.Size() > 0
}

// classify turns o into its top k per batch item. It allocates for the
// output's elements, never for k beyond them.
func classify(o jsontensor.Output, k int64, labels []string, batched bool) (jsontensor.Output, error) {
	if !classifiable(o.DataType) {
		return jsontensor.Output{}, fmt.Errorf("sidecar output %q: classification of %s", o.Name, o.DataType)
	}
	rows := 1
	if batched && len(o.Shape) > 0 {
		rows = int(o.Shape[0])
	}
	per := 0
	if rows > 0 {
		per = o.N / rows
	}
	kk := per
	if k < int64(per) {
		kk = int(k)
	}
	order := make([]int, per)
	strs := make([][]byte, 0, rows*kk)
	for r := 0; r < rows; r++ {
		base := r * per
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool {
			return elementFloat(o.DataType, o.Raw, base+order[a]) > elementFloat(o.DataType, o.Raw, base+order[b])
		})
		for _, idx := range order[:kk] {
			s := strconv.AppendFloat(nil, elementFloat(o.DataType, o.Raw, base+idx), 'f', 6, 64)
			s = append(s, ':')
			s = strconv.AppendInt(s, int64(idx), 10)
			if idx < len(labels) {
				s = append(s, ':')
				s = append(s, labels[idx]...)
			}
			strs = append(strs, s)
		}
	}
	shape := []int64{int64(kk)}
	if batched && len(o.Shape) > 0 {
		shape = []int64{int64(rows), int64(kk)}
	}
	return jsontensor.Output{Name: o.Name, DataType: tensor.Bytes, Shape: shape, Raw: tensor.EncodeBytes(strs), Strs: strs, N: len(strs)}, nil
}

// elementFloat is element i of a numeric raw tensor as a float64.
func elementFloat(dt tensor.DataType, raw []byte, i int) float64 {
	le := binary.LittleEndian
	switch dt {
	case tensor.UInt8:
		return float64(raw[i])
	case tensor.UInt16:
		return float64(le.Uint16(raw[2*i:]))
	case tensor.UInt32:
		return float64(le.Uint32(raw[4*i:]))
	case tensor.UInt64:
		return float64(le.Uint64(raw[8*i:]))
	case tensor.Int8:
		return float64(int8(raw[i]))
	case tensor.Int16:
		return float64(int16(le.Uint16(raw[2*i:])))
	case tensor.Int32:
		return float64(int32(le.Uint32(raw[4*i:])))
	case tensor.Int64:
		return float64(int64(le.Uint64(raw[8*i:])))
	case tensor.FP16:
		return float64(tensor.HalfToFloat32(le.Uint16(raw[2*i:])))
	case tensor.FP32:
		return float64(math.Float32frombits(le.Uint32(raw[4*i:])))
	case tensor.FP64:
		return math.Float64frombits(le.Uint64(raw[8*i:]))
	}
	return 0
}
