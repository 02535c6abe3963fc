package tfserving

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol/jsontensor"
	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
)

// predictRequest is TF Serving's row format: {"instances": [...]}, or the
// seed's {"text": "..."} for one text.
type predictRequest struct {
	Text      *string           `json:"text"`
	Instances []json.RawMessage `json:"instances"`
}

// decodePredict parses a predict body into the instances it holds.
func decodePredict(body []byte) ([]json.RawMessage, *protocol.Error) {
	var req predictRequest
	if err := parsePredict(body, &req); err != nil {
		return nil, jsontensor.Malformed(err)
	}
	switch {
	case req.Text != nil && req.Instances != nil:
		return nil, protocol.Errorf(protocol.KindBadRequest, `give "text" or "instances", not both`)
	case req.Text != nil:
		q, _ := json.Marshal(*req.Text)
		return []json.RawMessage{q}, nil
	case len(req.Instances) == 0:
		return nil, protocol.Errorf(protocol.KindBadRequest, `the request needs "text" or a non-empty "instances"`)
	}
	return req.Instances, nil
}

var predictKeys = []string{"text", "instances"}

// parsePredict decodes a predict body into req with the result
// encoding/json gives: the common body in jsontensor.Scanner's single pass,
// each instance a slice of the body rather than a copy; anything else, and
// every malformed body, through encoding/json, whose errors clients see.
func parsePredict(body []byte, req *predictRequest) error {
	if scanPredict(body, req) {
		return nil
	}
	*req = predictRequest{}
	return json.Unmarshal(body, req)
}

// scanPredict is parsePredict's single pass; false hands body to encoding/json.
func scanPredict(body []byte, req *predictRequest) bool {
	p := jsontensor.NewScanner(body)
	ok := p.Object(predictKeys, func(k int) bool {
		if k == 0 {
			s, ok := p.StringValue()
			req.Text = &s
			return ok
		}
		req.Instances = make([]json.RawMessage, 0)
		return p.Array(func() bool {
			v, ok := p.Value()
			req.Instances = append(req.Instances, v)
			return ok
		})
	})
	return ok && p.End()
}

// checkPredictCount checks the number of instances against the model's
// batch size, before quota is taken for them.
func checkPredictCount(meta *pb.ModelMetadataResponse, instances []json.RawMessage) *protocol.Error {
	batched := meta.GetMaxBatchSize() > 0
	if !batched && len(instances) != 1 {
		return protocol.Errorf(protocol.KindBadRequest, "model %s does not batch: send exactly one instance", meta.GetName())
	}
	if len(instances) > int(meta.GetMaxBatchSize()) && batched {
		return protocol.Errorf(protocol.KindBadRequest, "model %s takes at most %d instances per request, got %d",
			meta.GetName(), meta.GetMaxBatchSize(), len(instances))
	}
	return nil
}

// buildPredict turns instances into the sidecar's inputs, following the
// model's metadata: strings go to the model's BYTES input (the text a text
// model tokenizes); values go to a model's only input; objects name the inputs.
func buildPredict(meta *pb.ModelMetadataResponse, instances []json.RawMessage, maxElements int64) (*pb.ModelInferRequest, *protocol.Error) {
	if err := checkPredictCount(meta, instances); err != nil {
		return nil, err
	}
	batched := meta.GetMaxBatchSize() > 0
	first := bytes.TrimSpace(instances[0])
	inputs := meta.GetInputs()
	switch {
	case len(first) > 0 && first[0] == '{':
		req := &pb.ModelInferRequest{}
		for _, in := range inputs {
			cols := make([]json.RawMessage, len(instances))
			for i, inst := range instances {
				var obj map[string]json.RawMessage
				if err := json.Unmarshal(inst, &obj); err != nil {
					return nil, protocol.Errorf(protocol.KindBadRequest, "instance %d: want an object naming the inputs", i)
				}
				v, ok := obj[in.GetName()]
				if !ok {
					return nil, protocol.Errorf(protocol.KindBadRequest, "instance %d: input %s is missing", i, in.GetName())
				}
				cols[i] = v
			}
			t, err := column(in, cols, batched, maxElements)
			if err != nil {
				return nil, err
			}
			req.Inputs = append(req.Inputs, t)
		}
		return req, nil
	case len(first) > 0 && first[0] == '"':
		in := textInput(inputs)
		t, err := column(in, instances, batched, maxElements)
		if err != nil {
			return nil, err
		}
		return &pb.ModelInferRequest{Inputs: []*pb.InferTensor{t}}, nil
	case len(inputs) == 1:
		t, err := column(inputs[0], instances, batched, maxElements)
		if err != nil {
			return nil, err
		}
		return &pb.ModelInferRequest{Inputs: []*pb.InferTensor{t}}, nil
	}
	return nil, protocol.Errorf(protocol.KindBadRequest, "model %s has %d inputs: each instance must be an object naming them", meta.GetName(), len(inputs))
}

// textInput is the input that takes text: the model's only BYTES input,
// else one named "text" (the sidecar's default for text models).
func textInput(inputs []*pb.TensorMetadata) *pb.TensorMetadata {
	var found *pb.TensorMetadata
	for _, in := range inputs {
		if in.GetDatatype() == string(tensor.Bytes) {
			if found != nil {
				found = nil
				break
			}
			found = in
		}
	}
	if found != nil {
		return found
	}
	return &pb.TensorMetadata{Name: "text", Datatype: string(tensor.Bytes), Shape: []int64{-1}}
}

// column stacks one input's value from every instance into one tensor.
func column(in *pb.TensorMetadata, values []json.RawMessage, batched bool, maxElements int64) (*pb.InferTensor, *protocol.Error) {
	dt, err := tensor.ParseDataType(in.GetDatatype())
	if err != nil {
		return nil, protocol.Wrap(protocol.KindInternal, "internal error", fmt.Errorf("model metadata: %w", err))
	}
	var itemShape []int64
	var raw []byte
	var strs [][]byte
	for i, v := range values {
		shape, err := jsonShape(v)
		if err != nil {
			return nil, protocol.Errorf(protocol.KindBadRequest, "instance %d, input %s: %v", i, in.GetName(), err)
		}
		if i == 0 {
			itemShape = shape
		} else if !equalShape(shape, itemShape) {
			return nil, protocol.Errorf(protocol.KindBadRequest, "instance %d, input %s: shape %v differs from instance 0's %v", i, in.GetName(), shape, itemShape)
		}
		n, err := tensor.ElementCount(shape, maxElements)
		if err != nil {
			return nil, protocol.Errorf(protocol.KindBadRequest, "instance %d, input %s: %v", i, in.GetName(), err)
		}
		b, err := jsontensor.ParseData(dt, v, n)
		if err != nil {
			return nil, protocol.Errorf(protocol.KindBadRequest, "instance %d, input %s: %v", i, in.GetName(), err)
		}
		if dt == tensor.Bytes {
			elems, _ := tensor.DecodeBytes(b, n)
			strs = append(strs, elems...)
		} else {
			raw = append(raw, b...)
		}
	}
	if dt == tensor.Bytes {
		raw = tensor.EncodeBytes(strs)
	}
	// Scalars per instance fill the model's trailing dims of size 1:
	// a text model taking [batch, 1] gets [batch, 1] from plain strings.
	want := len(in.GetShape())
	if batched {
		want--
	}
	for len(itemShape) < want {
		itemShape = append(itemShape, 1)
	}
	shape := itemShape
	if batched {
		shape = append([]int64{int64(len(values))}, itemShape...)
	}
	if _, err := tensor.ElementCount(shape, maxElements); err != nil {
		return nil, protocol.Errorf(protocol.KindBadRequest, "input %s: %v", in.GetName(), err)
	}
	return &pb.InferTensor{Name: in.GetName(), Datatype: string(dt), Shape: shape, Raw: raw}, nil
}

func equalShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// jsonShape is the shape of a nested JSON array, checked to be rectangular.
func jsonShape(raw json.RawMessage) ([]int64, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("malformed value: %v", err)
	}
	var shape []int64
	for cur := v; ; {
		a, ok := cur.([]any)
		if !ok {
			break
		}
		shape = append(shape, int64(len(a)))
		if len(a) == 0 || len(shape) > jsontensor.MaxDataDepth {
			break
		}
		cur = a[0]
	}
	if !rectangular(v, shape) {
		return nil, fmt.Errorf("ragged nested arrays")
	}
	return shape, nil
}

func rectangular(v any, shape []int64) bool {
	a, isArr := v.([]any)
	if len(shape) == 0 {
		return !isArr
	}
	if !isArr || int64(len(a)) != shape[0] {
		return false
	}
	for _, e := range a {
		if !rectangular(e, shape[1:]) {
			return false
		}
	}
	return true
}

// encodePredict writes {"predictions": [...]}: for a classifier (the model
// has labels and answers "label" and "probabilities") each prediction is
// {"label": ..., "probabilities": {label: p, ...}}; for other models the
// item's output, or an object of outputs when there are several.
func encodePredict(meta *pb.ModelMetadataResponse, res *pb.ModelInferResponse, items int) ([]byte, error) {
	outs := map[string]jsontensor.Output{}
	var order []jsontensor.Output
	for _, t := range res.GetOutputs() {
		o, err := jsontensor.CheckOutput(t)
		if err != nil {
			return nil, err
		}
		outs[o.Name] = o
		order = append(order, o)
	}
	batched := meta.GetMaxBatchSize() > 0
	for _, o := range order {
		if batched && (len(o.Shape) == 0 || int(o.Shape[0]) != items) {
			return nil, fmt.Errorf("sidecar output %q has shape %v for %d instances", o.Name, o.Shape, items)
		}
	}
	label, hasLabel := outs["label"]
	probs, hasProbs := outs["probabilities"]
	labels := meta.GetLabels()
	classifier := hasLabel && hasProbs && len(labels) > 0 && batched &&
		probs.DataType == tensor.FP32 && len(probs.Shape) == 2 && int(probs.Shape[1]) == len(labels)
	b := make([]byte, 0, 256)
	b = append(b, `{"predictions":[`...)
	for i := 0; i < items; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		switch {
		case classifier:
			b = append(b, `{"label":`...)
			b = protocol.AppendJSONString(b, string(label.Strs[i]))
			b = append(b, `,"probabilities":{`...)
			row := jsontensor.AppendElements(nil, tensor.FP32, probs.Raw, nil, i*len(labels), (i+1)*len(labels))
			vals := bytes.Split(row[1:len(row)-1], []byte{','})
			for j, l := range labels {
				if j > 0 {
					b = append(b, ',')
				}
				b = protocol.AppendJSONString(b, l)
				b = append(b, ':')
				b = append(b, vals[j]...)
			}
			b = append(b, "}}"...)
		case len(order) == 1:
			b = appendItem(b, order[0], i, batched)
		default:
			b = append(b, '{')
			for j, o := range order {
				if j > 0 {
					b = append(b, ',')
				}
				b = protocol.AppendJSONString(b, o.Name)
				b = append(b, ':')
				b = appendItem(b, o, i, batched)
			}
			b = append(b, '}')
		}
	}
	return append(b, "]}"...), nil
}

// appendItem writes instance i's part of an output.
func appendItem(b []byte, o jsontensor.Output, i int, batched bool) []byte {
	if !batched {
		return appendNested(b, o, o.Shape, 0)
	}
	inner := 1
	for _, d := range o.Shape[1:] {
		inner *= int(d)
	}
	return appendNested(b, o, o.Shape[1:], i*inner)
}

// appendNested writes elements [from, from+prod(shape)) nested by shape,
// as TF Serving's predictions are.
func appendNested(b []byte, o jsontensor.Output, shape []int64, from int) []byte {
	if len(shape) == 0 {
		// A scalar: write the element alone.
		arr := jsontensor.AppendElements(nil, o.DataType, o.Raw, o.Strs, from, from+1)
		return append(b, arr[1:len(arr)-1]...)
	}
	if len(shape) == 1 {
		return jsontensor.AppendElements(b, o.DataType, o.Raw, o.Strs, from, from+int(shape[0]))
	}
	inner := 1
	for _, d := range shape[1:] {
		inner *= int(d)
	}
	b = append(b, '[')
	for i := 0; i < int(shape[0]); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendNested(b, o, shape[1:], from+i*inner)
	}
	return append(b, ']')
}
