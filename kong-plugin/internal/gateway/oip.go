package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
)

// oipRequest is an Open Inference Protocol inference request; each input's
// `data` stays raw JSON until parseData turns it into bytes.
type oipRequest struct {
	ID      string      `json:"id"`
	Inputs  []oipInput  `json:"inputs"`
	Outputs []oipOutput `json:"outputs"`
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
	var req oipRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, wrap(KindBadRequest, "malformed JSON: "+jsonProblem(err), err)
	}
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
