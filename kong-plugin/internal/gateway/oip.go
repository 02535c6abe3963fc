package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
)

// oipRequest is an Open Inference Protocol inference request; each input's
// `data` stays raw JSON until parseData turns it into bytes.
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

// decodeInfer parses an OIP request body into the sidecar's request
// (model name and version left for the caller). Every problem is a 400.
func decodeInfer(body []byte, maxElements int64) (*pb.ModelInferRequest, *Error) {
	req, _, err := decodeInferTimeout(body, maxElements)
	return req, err
}

// decodeInferTimeout is decodeInfer that also returns the client's
// parameters.timeout (0 when it set none).
func decodeInferTimeout(body []byte, maxElements int64) (*pb.ModelInferRequest, time.Duration, *Error) {
	var req oipRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, 0, wrap(KindBadRequest, "malformed JSON: "+jsonProblem(err), err)
	}
	timeout, terr := requestTimeout(req.Parameters.Timeout)
	if terr != nil {
		return nil, 0, terr
	}
	out, err := inferRequest(req, maxElements)
	return out, timeout, err
}

// requestTimeout converts Triton's microseconds; values too large for a
// Duration saturate (limits.max_timeout caps them anyway).
func requestTimeout(us *int64) (time.Duration, *Error) {
	switch {
	case us == nil:
		return 0, nil
	case *us < 0:
		return 0, errorf(KindBadRequest, "parameters.timeout must not be negative (microseconds, 0 = the default)")
	case *us > math.MaxInt64/int64(time.Microsecond):
		return math.MaxInt64, nil
	}
	return time.Duration(*us) * time.Microsecond, nil
}

func inferRequest(req oipRequest, maxElements int64) (*pb.ModelInferRequest, *Error) {
	if len(req.Inputs) == 0 {
		return nil, errorf(KindBadRequest, "the request has no inputs")
	}
	out := &pb.ModelInferRequest{Id: req.ID, Inputs: make([]*pb.InferTensor, 0, len(req.Inputs))}
	seen := map[string]bool{}
	for i, in := range req.Inputs {
		t, err := decodeInput(in, maxElements)
		if err != nil {
			name := in.Name
			if name == "" {
				name = "#" + strconv.Itoa(i)
			}
			return nil, wrap(KindBadRequest, fmt.Sprintf("input %s: %v", name, err), err)
		}
		if seen[in.Name] {
			return nil, errorf(KindBadRequest, "input %s is given twice", in.Name)
		}
		seen[in.Name] = true
		out.Inputs = append(out.Inputs, t)
	}
	for _, o := range req.Outputs {
		if o.Name == "" {
			return nil, errorf(KindBadRequest, "an output without a name")
		}
		out.Outputs = append(out.Outputs, o.Name)
	}
	return out, nil
}

func decodeInput(in oipInput, maxElements int64) (*pb.InferTensor, error) {
	if in.Name == "" {
		return nil, errors.New("name is required")
	}
	dt, err := tensor.ParseDataType(in.Datatype)
	if err != nil {
		return nil, err
	}
	if in.Shape == nil {
		return nil, errors.New("shape is required")
	}
	n, err := tensor.ElementCount(in.Shape, maxElements)
	if err != nil {
		return nil, err
	}
	if len(in.Data) == 0 {
		return nil, errors.New("data is required")
	}
	raw, err := parseData(dt, in.Data, n)
	if err != nil {
		return nil, err
	}
	return &pb.InferTensor{Name: in.Name, Datatype: string(dt), Shape: in.Shape, Raw: raw}, nil
}

// jsonProblem says where JSON went wrong without echoing the body.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q wants %s, got %s", te.Field, te.Type, te.Value)
	}
	return err.Error()
}

// encodeInfer writes the OIP response for the sidecar's answer.
func encodeInfer(res *pb.ModelInferResponse) ([]byte, error) {
	outs := make([]outputTensor, 0, len(res.GetOutputs()))
	size := 64
	for _, t := range res.GetOutputs() {
		o, err := checkOutput(t)
		if err != nil {
			return nil, err
		}
		outs = append(outs, o)
		size += 64 + len(o.raw)*3
	}
	b := make([]byte, 0, size)
	b = append(b, `{"model_name":`...)
	b = appendJSONString(b, res.GetModelName())
	b = append(b, `,"model_version":`...)
	b = appendJSONString(b, res.GetModelVersion())
	if res.GetId() != "" {
		b = append(b, `,"id":`...)
		b = appendJSONString(b, res.GetId())
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
