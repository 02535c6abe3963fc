package textproc

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/modelgate/modelgate/shared/tensor"
	"github.com/modelgate/modelgate/sidecar/internal/config"
)

// The outputs a classifier head adds.
const (
	ProbabilitiesOutput = "probabilities"
	LabelOutput         = "label"
)

// Classifier turns a model's scores into class probabilities and labels.
type Classifier struct {
	// Output is the model output holding the scores, [..., len(Labels)].
	Output  string
	Labels  []string
	softmax bool
}

// NewClassifier returns the head described by cfg.
func NewClassifier(cfg config.Classify) *Classifier {
	return &Classifier{Output: cfg.Output, Labels: cfg.Labels, softmax: cfg.Softmax}
}

// Apply reads scores (FP32 or FP64, last dim = number of labels) and returns
// probabilities (FP32, same shape) and label (BYTES, the leading dims).
func (c *Classifier) Apply(scores tensor.Tensor) (probs, labels tensor.Tensor, err error) {
	n := len(c.Labels)
	if len(scores.Shape) == 0 || scores.Shape[len(scores.Shape)-1] != int64(n) {
		return probs, labels, fmt.Errorf("output %q has shape %v; classify needs its last dim to be the %d labels", scores.Name, scores.Shape, n)
	}
	vals, err := floats(scores)
	if err != nil {
		return probs, labels, err
	}
	rows := len(vals) / n
	probs = tensor.Tensor{Name: ProbabilitiesOutput, DataType: tensor.FP32, Shape: append([]int64(nil), scores.Shape...), Raw: make([]byte, 0, 4*len(vals))}
	names := make([][]byte, rows)
	for r := 0; r < rows; r++ {
		row := vals[r*n : (r+1)*n]
		if c.softmax {
			softmax(row)
		}
		best := 0
		for i, v := range row {
			probs.Raw = binary.LittleEndian.AppendUint32(probs.Raw, math.Float32bits(float32(v)))
			if v > row[best] {
				best = i
			}
		}
		names[r] = []byte(c.Labels[best])
	}
	labels = tensor.Tensor{Name: LabelOutput, DataType: tensor.Bytes, Shape: append([]int64(nil), scores.Shape[:len(scores.Shape)-1]...), Raw: tensor.EncodeBytes(names)}
	return probs, labels, nil
}

func floats(t tensor.Tensor) ([]float64, error) {
	switch t.DataType {
	case tensor.FP32:
		out := make([]float64, len(t.Raw)/4)
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(t.Raw[4*i:])))
		}
		return out, nil
	case tensor.FP64:
		out := make([]float64, len(t.Raw)/8)
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Raw[8*i:]))
		}
		return out, nil
	default:
		return nil, fmt.Errorf("output %q is %s; classify reads FP32 or FP64 scores", t.Name, t.DataType)
	}
}

// softmax replaces row by its softmax, shifted by the maximum so that large
// scores do not overflow.
func softmax(row []float64) {
	max := math.Inf(-1)
	for _, v := range row {
		max = math.Max(max, v)
	}
	sum := 0.0
	for i, v := range row {
		row[i] = math.Exp(v - max)
		sum += row[i]
	}
	for i := range row {
		row[i] /= sum
	}
}
