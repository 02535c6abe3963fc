package oip

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol/jsontensor"
	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
)

// oipRequest is an Open Inference Protocol inference request; each input's
// `data` stays raw JSON until jsontensor.ParseData turns it into bytes.
type oipRequest struct {
	ID         string        `json:"id"`
	Parameters oipParameters `json:"parameters"`
	Inputs     []oipInput    `json:"inputs"`
	Outputs    []oipOutput   `json:"outputs"`
}

// oipParameters are the request-level parameters modelgate reads; others
// (Triton's priority, binary_data_output...) are accepted and ignored.
type oipParameters struct {
	// Timeout is Triton's request timeout in microseconds; 0 or absent
	// means limits.default_timeout.
	Timeout *int64 `json:"timeout"`
}

type oipInput struct {
	Name     string          `json:"name"`
	Shape    []int64         `json:"shape"`
	Datatype string          `json:"datatype"`
	Data     json.RawMessage `json:"data"`
}

type oipOutput struct {
	Name string `json:"name"`
}

// checkedInfer is an OIP request whose structure, shapes and sizes were
// checked against the body, its tensors' data not yet decoded: the gateway
// takes quota between the two steps, so a request's cost is charged before
// the gateway spends memory on its data.
type checkedInfer struct {
	req     oipRequest
	types   []tensor.DataType
	counts  []int64       // elements per input, each within what its data's bytes can hold
	timeout time.Duration // the client's parameters.timeout; 0 when it set none
}

// checkInfer parses the body's envelope (everything but the elements of
// each `data`) and checks each input's shape against max_elements and
// against the bytes of its data. It allocates for the bytes present only.
func checkInfer(body []byte, maxElements int64) (*checkedInfer, *protocol.Error) {
	c := &checkedInfer{}
	if err := json.Unmarshal(body, &c.req); err != nil {
		return nil, jsontensor.Malformed(err)
	}
	timeout, terr := requestTimeout(c.req.Parameters.Timeout)
	if terr != nil {
		return nil, terr
	}
	c.timeout = timeout
	if len(c.req.Inputs) == 0 {
		return nil, protocol.Errorf(protocol.KindBadRequest, "the request has no inputs")
	}
	c.types = make([]tensor.DataType, len(c.req.Inputs))
	c.counts = make([]int64, len(c.req.Inputs))
	seen := make(map[string]bool, len(c.req.Inputs))
	for i, in := range c.req.Inputs {
		dt, n, err := checkInput(in, maxElements)
		if err != nil {
			return nil, protocol.Wrap(protocol.KindBadRequest, fmt.Sprintf("input %s: %v", inputName(in, i), err), err)
		}
		if seen[in.Name] {
			return nil, protocol.Errorf(protocol.KindBadRequest, "input %s is given twice", in.Name)
		}
		seen[in.Name] = true
		c.types[i], c.counts[i] = dt, n
	}
	for _, o := range c.req.Outputs {
		if o.Name == "" {
			return nil, protocol.Errorf(protocol.KindBadRequest, "an output without a name")
		}
	}
	return c, nil
}

// requestTimeout converts Triton's microseconds; values too large for a
// Duration saturate (limits.max_timeout caps them anyway).
func requestTimeout(us *int64) (time.Duration, *protocol.Error) {
	switch {
	case us == nil:
		return 0, nil
	case *us < 0:
		return 0, protocol.Errorf(protocol.KindBadRequest, "parameters.timeout must not be negative (microseconds, 0 = the default)")
	case *us > math.MaxInt64/int64(time.Microsecond):
		return math.MaxInt64, nil
	}
	return time.Duration(*us) * time.Microsecond, nil
}

func inputName(in oipInput, i int) string {
	if in.Name == "" {
		return "#" + strconv.Itoa(i)
	}
	return in.Name
}

// checkInput checks one input's fields and returns its datatype and
// element count, the count bounded by max_elements and by its data's bytes.
func checkInput(in oipInput, maxElements int64) (tensor.DataType, int64, error) {
	if in.Name == "" {
		return "", 0, errors.New("name is required")
	}
	dt, err := tensor.ParseDataType(in.Datatype)
	if err != nil {
		return "", 0, err
	}
	if in.Shape == nil {
		return "", 0, errors.New("shape is required")
	}
	n, err := tensor.ElementCount(in.Shape, maxElements)
	if err != nil {
		return "", 0, err
	}
	if len(in.Data) == 0 {
		return "", 0, errors.New("data is required")
	}
	if err := jsontensor.CheckDataSize(dt, in.Data, n); err != nil {
		return "", 0, err
	}
	return dt, n, nil
}

// batchItems counts the request's batch items for the daily item quota:
// the first dimension of the first input when the model batches, else
// the most any input counts by jsontensor.UnbatchedItems. checkInfer has
// bounded every dimension by the body's bytes.
func (c *checkedInfer) batchItems(meta *pb.ModelMetadataResponse) int {
	in := c.req.Inputs
	switch {
	case meta.GetMaxBatchSize() <= 0:
		items := int64(1)
		for i, x := range in {
			items = max(items, jsontensor.UnbatchedItems(meta.GetInputs(), x.Name, c.counts[i]))
		}
		return int(items)
	case len(in[0].Shape) == 0:
		return 1
	case c.counts[0] == 0:
		// A shape like [1e12, 0] holds nothing, whatever its first dimension.
		return 0
	}
	return int(in[0].Shape[0])
}

// decode turns each input's data into the raw bytes the sidecar takes.
func (c *checkedInfer) decode() (*pb.ModelInferRequest, *protocol.Error) {
	out := &pb.ModelInferRequest{Id: c.req.ID, Inputs: make([]*pb.InferTensor, 0, len(c.req.Inputs))}
	for i, in := range c.req.Inputs {
		raw, err := jsontensor.ParseData(c.types[i], in.Data, c.counts[i])
		if err != nil {
			return nil, protocol.Wrap(protocol.KindBadRequest, fmt.Sprintf("input %s: %v", in.Name, err), err)
		}
		out.Inputs = append(out.Inputs, &pb.InferTensor{Name: in.Name, Datatype: string(c.types[i]), Shape: in.Shape, Raw: raw})
	}
	for _, o := range c.req.Outputs {
		out.Outputs = append(out.Outputs, o.Name)
	}
	return out, nil
}

// encodeInfer writes the OIP response for the sidecar's answer.
func encodeInfer(res *pb.ModelInferResponse) ([]byte, error) {
	outs := make([]jsontensor.Output, 0, len(res.GetOutputs()))
	size := 64
	for _, t := range res.GetOutputs() {
		o, err := jsontensor.CheckOutput(t)
		if err != nil {
			return nil, err
		}
		outs = append(outs, o)
		size += 64 + len(o.Raw)*3
	}
	b := make([]byte, 0, size)
	b = append(b, `{"model_name":`...)
	b = protocol.AppendJSONString(b, res.GetModelName())
	b = append(b, `,"model_version":`...)
	b = protocol.AppendJSONString(b, res.GetModelVersion())
	if res.GetId() != "" {
		b = append(b, `,"id":`...)
		b = protocol.AppendJSONString(b, res.GetId())
	}
	b = append(b, `,"outputs":[`...)
	for i, o := range outs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOIPOutput(b, o)
	}
	return append(b, "]}"...), nil
}

// appendOIPOutput writes one output as the Open Inference Protocol does:
// name, datatype, shape and the elements flat.
func appendOIPOutput(b []byte, o jsontensor.Output) []byte {
	b = append(b, `{"name":`...)
	b = protocol.AppendJSONString(b, o.Name)
	b = append(b, `,"datatype":"`...)
	b = append(b, o.DataType...)
	b = append(b, `","shape":[`...)
	for i, d := range o.Shape {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, d, 10)
	}
	b = append(b, `],"data":`...)
	b = jsontensor.AppendElements(b, o.DataType, o.Raw, o.Strs, 0, o.N)
	return append(b, '}')
}
