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
// (Triton's priority, sequence ids...) are accepted and ignored.
type oipParameters struct {
	// Timeout is Triton's request timeout in microseconds; 0 or absent
	// means limits.default_timeout.
	Timeout *int64 `json:"timeout"`
	// BinaryDataOutput asks for every output without its own
	// binary_data parameter in binary form (Triton's binary tensor data
	// extension).
	BinaryDataOutput bool `json:"binary_data_output"`
}

type oipInput struct {
	Name       string          `json:"name"`
	Shape      []int64         `json:"shape"`
	Datatype   string          `json:"datatype"`
	Data       json.RawMessage `json:"data"`
	Parameters inputParameters `json:"parameters"`

	// What checkSplitInfer found, kept with the input rather than in
	// slices of their own (three allocations per request fewer): its
	// datatype, its element count (within what its data's bytes can hold)
	// and its binary data, a slice of the body (nil for JSON data).
	dt     tensor.DataType
	count  int64
	binary []byte
}

// inputParameters are an input's parameters modelgate reads.
type inputParameters struct {
	// BinaryDataSize says the input's data is not in `data` but the next
	// that many bytes after the JSON header (binary tensor data extension).
	BinaryDataSize *int64 `json:"binary_data_size"`
}

type oipOutput struct {
	Name       string           `json:"name"`
	Parameters outputParameters `json:"parameters"`
}

// outputParameters are a requested output's parameters modelgate reads.
type outputParameters struct {
	// BinaryData asks for the output in binary form; absent, the request's
	// binary_data_output decides.
	BinaryData *bool `json:"binary_data"`
	// Classification asks for the top k of the output as
	// "score:index:label" strings (Triton's classification extension).
	Classification int64 `json:"classification"`
}

// checkedInfer is an OIP request whose structure, shapes and sizes were
// checked against the body, its tensors' data not yet decoded: the gateway
// takes quota between the two steps, so a request's cost is charged before
// the gateway spends memory on its data.
type checkedInfer struct {
	req     oipRequest
	timeout time.Duration // the client's parameters.timeout; 0 when it set none
}

// checkInfer checks a body that is all JSON.
func checkInfer(body []byte, maxElements int64) (*checkedInfer, *protocol.Error) {
	return checkSplitInfer(body, len(body), maxElements)
}

// checkSplitInfer parses the body's JSON header, its first headerLen bytes
// (everything but the elements of each `data`), and checks each input's
// shape against max_elements and against the bytes of its data: JSON
// `data`, or its binary_data_size bytes of what follows the header. It
// allocates for the bytes present only.
func checkSplitInfer(body []byte, headerLen int, maxElements int64) (*checkedInfer, *protocol.Error) {
	c := &checkedInfer{}
	if err := parseHeader(body[:headerLen], &c.req); err != nil {
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
	var seen nameSet
	rest := body[headerLen:]
	for i := range c.req.Inputs {
		in := &c.req.Inputs[i]
		dt, n, err := checkInput(in, maxElements)
		if err == nil && in.Parameters.BinaryDataSize != nil {
			in.binary, rest, err = takeBinary(dt, n, *in.Parameters.BinaryDataSize, rest)
		}
		if err != nil {
			return nil, protocol.Wrap(protocol.KindBadRequest, fmt.Sprintf("input %s: %v", inputName(in, i), err), err)
		}
		if !seen.add(in.Name) {
			return nil, protocol.Errorf(protocol.KindBadRequest, "input %s is given twice", in.Name)
		}
		in.dt, in.count = dt, n
	}
	if len(rest) > 0 {
		return nil, protocol.Errorf(protocol.KindBadRequest, "%d bytes of binary data follow what the inputs' binary_data_size take", len(rest))
	}
	var outs nameSet
	for _, o := range c.req.Outputs {
		switch {
		case o.Name == "":
			return nil, protocol.Errorf(protocol.KindBadRequest, "an output without a name")
		case !outs.add(o.Name):
			return nil, protocol.Errorf(protocol.KindBadRequest, "output %s is requested twice", o.Name)
		case o.Parameters.Classification < 0:
			return nil, protocol.Errorf(protocol.KindBadRequest, "output %s: parameters.classification must not be negative", o.Name)
		}
	}
	return c, nil
}

// nameSet finds a name given twice among a request's inputs or outputs:
// the first few are compared one by one, without an allocation; past them
// a map takes over (how many there are is the client's to choose).
type nameSet struct {
	few  [8]string
	n    int
	many map[string]bool
}

// add reports whether name is new.
func (s *nameSet) add(name string) bool {
	if s.many == nil {
		for _, seen := range s.few[:s.n] {
			if seen == name {
				return false
			}
		}
		if s.n < len(s.few) {
			s.few[s.n] = name
			s.n++
			return true
		}
		s.many = make(map[string]bool, 2*len(s.few))
		for _, seen := range s.few {
			s.many[seen] = true
		}
	}
	if s.many[name] {
		return false
	}
	s.many[name] = true
	return true
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

func inputName(in *oipInput, i int) string {
	if in.Name == "" {
		return "#" + strconv.Itoa(i)
	}
	return in.Name
}

// checkInput checks one input's fields and returns its datatype and
// element count, the count bounded by max_elements and by its data's bytes.
func checkInput(in *oipInput, maxElements int64) (tensor.DataType, int64, error) {
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
	if in.Parameters.BinaryDataSize != nil {
		if len(in.Data) != 0 {
			return "", 0, errors.New("data and parameters.binary_data_size are both given")
		}
		return dt, n, nil
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
		for _, x := range in {
			items = max(items, jsontensor.UnbatchedItems(meta.GetInputs(), x.Name, x.count))
		}
		return int(items)
	case len(in[0].Shape) == 0:
		return 1
	case in[0].count == 0:
		// A shape like [1e12, 0] holds nothing, whatever its first dimension.
		return 0
	}
	return int(in[0].Shape[0])
}

// decode turns each input's data into the raw bytes the sidecar takes.
func (c *checkedInfer) decode() (*pb.ModelInferRequest, *protocol.Error) {
	// The tensors take one allocation together, as do the output names:
	// both counts are of elements present in the body.
	tensors := make([]pb.InferTensor, len(c.req.Inputs))
	out := &pb.ModelInferRequest{Id: c.req.ID, Inputs: make([]*pb.InferTensor, len(c.req.Inputs))}
	for i := range c.req.Inputs {
		in := &c.req.Inputs[i]
		t := &tensors[i]
		t.Name, t.Datatype, t.Shape, t.Raw = in.Name, string(in.dt), in.Shape, in.binary
		out.Inputs[i] = t
		if in.binary != nil {
			// Checked by takeBinary: the bytes are already the sidecar's.
			continue
		}
		raw, err := jsontensor.ParseData(in.dt, in.Data, in.count)
		if err != nil {
			return nil, protocol.Wrap(protocol.KindBadRequest, fmt.Sprintf("input %s: %v", in.Name, err), err)
		}
		t.Raw = raw
	}
	if len(c.req.Outputs) > 0 {
		out.Outputs = make([]string, 0, len(c.req.Outputs))
	}
	for _, o := range c.req.Outputs {
		out.Outputs = append(out.Outputs, o.Name)
	}
	return out, nil
}
