package oip

import (
	"strconv"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol/jsontensor"
	"github.com/modelgate/modelgate/shared/pb"
)

// outputForms is how the client asked for each output: JSON or binary
// (binary tensor data extension), whole or classified.
type outputForms struct {
	binaryDefault bool // the request's binary_data_output
	byName        map[string]outputParameters
	labels        []string // the model's labels, for classification
	batched       bool     // the model batches: an output's first dimension is the batch
}

// forms is how c asked for its outputs, for a model with meta.
func (c *checkedInfer) forms(meta *pb.ModelMetadataResponse) outputForms {
	f := outputForms{binaryDefault: c.req.Parameters.BinaryDataOutput, labels: meta.GetLabels(), batched: meta.GetMaxBatchSize() > 0}
	if len(c.req.Outputs) > 0 {
		f.byName = make(map[string]outputParameters, len(c.req.Outputs))
		for _, o := range c.req.Outputs {
			f.byName[o.Name] = o.Parameters
		}
	}
	return f
}

// binary reports whether the output name goes in binary form.
func (f outputForms) binary(name string) bool {
	if b := f.byName[name].BinaryData; b != nil {
		return *b
	}
	return f.binaryDefault
}

// encodeInfer writes an all-JSON OIP answer.
func encodeInfer(res *pb.ModelInferResponse) ([]byte, error) {
	body, _, err := encodeResponse(res, outputForms{})
	return body, err
}

// encodeResponse writes the OIP answer for the sidecar's answer: the JSON,
// then the binary data of each output asked for in binary form, in the
// outputs' order. headerLen is the JSON's length when some output is
// binary (the answer's Inference-Header-Content-Length), else -1.
func encodeResponse(res *pb.ModelInferResponse, f outputForms) (body []byte, headerLen int, err error) {
	outs := make([]jsontensor.Output, 0, len(res.GetOutputs()))
	bin := make([]bool, 0, len(res.GetOutputs()))
	size, binSize := 64, 0
	for _, t := range res.GetOutputs() {
		o, err := jsontensor.CheckOutput(t)
		if err != nil {
			return nil, -1, err
		}
		if k := f.byName[o.Name].Classification; k > 0 {
			if o, err = classify(o, k, f.labels, f.batched); err != nil {
				return nil, -1, err
			}
		}
		b := f.binary(o.Name)
		outs, bin = append(outs, o), append(bin, b)
		if b {
			size += 96
			binSize += len(o.Raw)
		} else {
			size += 64 + len(o.Raw)*3
		}
	}
	b := make([]byte, 0, size+binSize)
	b = append(b, `{"model_name":`...)
	b = protocol.AppendJSONString(b, res.GetModelName())
	b = append(b, `,"model_version":`...)
	b = protocol.AppendJSONString(b, res.GetModelVersion())
	if res.GetId() != "" {
		b = append(b, `,"id":`...)
		b = protocol.AppendJSONString(b, res.GetId())
	}
	b = append(b, `,"outputs":[`...)
	anyBinary := false
	for i, o := range outs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOIPOutput(b, o, bin[i])
		anyBinary = anyBinary || bin[i]
	}
	b = append(b, "]}"...)
	if !anyBinary {
		return b, -1, nil
	}
	headerLen = len(b)
	for i, o := range outs {
		if bin[i] {
			b = append(b, o.Raw...)
		}
	}
	return b, headerLen, nil
}

// appendOIPOutput writes one output as the Open Inference Protocol does:
// name, datatype, shape and the elements flat, or, in binary form,
// parameters.binary_data_size in place of the elements.
func appendOIPOutput(b []byte, o jsontensor.Output, binary bool) []byte {
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
	if binary {
		b = append(b, `],"parameters":{"binary_data_size":`...)
		b = strconv.AppendInt(b, int64(len(o.Raw)), 10)
		return append(b, "}}"...)
	}
	b = append(b, `],"data":`...)
	b = jsontensor.AppendElements(b, o.DataType, o.Raw, o.Strs, 0, o.N)
	return append(b, '}')
}
