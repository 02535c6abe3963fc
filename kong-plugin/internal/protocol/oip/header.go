package oip

import (
	"encoding/json"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol/jsontensor"
	"github.com/modelgate/modelgate/shared/tensor"
)

// parseHeader decodes an inference request's JSON header into req with
// the result encoding/json gives. The common request (plain ASCII keys
// spelled as the spec spells them, each once, strings without escapes, no
// nulls) takes a hand-written single pass that keeps each input's `data`
// as a slice of src instead of a copy; anything else, and every malformed
// header, goes to encoding/json, whose errors are the ones clients see.
// Neither allocates for a size or count the header declares: slices grow
// with the elements present.
func parseHeader(src []byte, req *oipRequest) error {
	p := headerParser{jsontensor.NewScanner(src)}
	if p.request(req) {
		return nil
	}
	*req = oipRequest{}
	return json.Unmarshal(src, req)
}

// headerParser is the fast path of parseHeader: it returns false to hand
// the whole header to encoding/json.
type headerParser struct {
	jsontensor.Scanner
}

var (
	requestKeys = []string{"id", "parameters", "inputs", "outputs"}
	inputKeys   = []string{"name", "shape", "datatype", "data", "parameters"}
	outputKeys  = []string{"name", "parameters"}
	reqParamKey = []string{"timeout", "binary_data_output"}
	inParamKeys = []string{"binary_data_size"}
	outParamKey = []string{"binary_data", "classification"}
)

func (p *headerParser) request(req *oipRequest) bool {
	ok := p.Object(requestKeys, func(k int) bool {
		switch k {
		case 0:
			s, ok := p.StringValue()
			req.ID = s
			return ok
		case 1:
			return p.requestParameters(&req.Parameters)
		case 2:
			req.Inputs = make([]oipInput, 0)
			return p.Array(func() bool {
				req.Inputs = append(req.Inputs, oipInput{})
				return p.input(&req.Inputs[len(req.Inputs)-1])
			})
		default:
			req.Outputs = make([]oipOutput, 0)
			return p.Array(func() bool {
				req.Outputs = append(req.Outputs, oipOutput{})
				return p.output(&req.Outputs[len(req.Outputs)-1])
			})
		}
	})
	return ok && p.End()
}

func (p *headerParser) requestParameters(params *oipParameters) bool {
	return p.Object(reqParamKey, func(k int) bool {
		if k == 0 {
			v, ok := p.Int64()
			params.Timeout = &v
			return ok
		}
		v, ok := p.Bool()
		params.BinaryDataOutput = v
		return ok
	})
}

func (p *headerParser) input(in *oipInput) bool {
	return p.Object(inputKeys, func(k int) bool {
		switch k {
		case 0:
			s, ok := p.StringValue()
			in.Name = s
			return ok
		case 1:
			// Dimensions gather on the stack, then take one allocation
			// of the size present.
			var few [8]int64
			dims := few[:0]
			ok := p.Array(func() bool {
				v, ok := p.Int64()
				dims = append(dims, v)
				return ok
			})
			in.Shape = make([]int64, len(dims))
			copy(in.Shape, dims)
			return ok
		case 2:
			s, ok := p.datatype()
			in.Datatype = s
			return ok
		case 3:
			v, ok := p.Value()
			in.Data = v
			return ok
		default:
			return p.Object(inParamKeys, func(int) bool {
				v, ok := p.Int64()
				in.Parameters.BinaryDataSize = &v
				return ok
			})
		}
	})
}

func (p *headerParser) output(o *oipOutput) bool {
	return p.Object(outputKeys, func(k int) bool {
		if k == 0 {
			s, ok := p.StringValue()
			o.Name = s
			return ok
		}
		return p.Object(outParamKey, func(k int) bool {
			if k == 0 {
				v, ok := p.Bool()
				o.Parameters.BinaryData = &v
				return ok
			}
			v, ok := p.Int64()
			o.Parameters.Classification = v
			return ok
		})
	})
}

var dataTypes = [...]tensor.DataType{tensor.Bool, tensor.UInt8, tensor.UInt16, tensor.UInt32, tensor.UInt64,
	tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64, tensor.FP16, tensor.FP32, tensor.FP64, tensor.Bytes}

// datatype returns the datatype names tensor knows as its constants, so
// the common request allocates no string for them.
func (p *headerParser) datatype() (string, bool) {
	s, ok := p.PlainString()
	if !ok {
		return "", false
	}
	for _, dt := range dataTypes {
		if string(s) == string(dt) {
			return string(dt), true
		}
	}
	return string(s), true
}
