package core

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/oiptest"
	"github.com/modelgate/modelgate/kong-plugin/internal/apis"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/shared/tensor"
)

// tritonCall sends a request in Triton's wire format, as the stock
// tritonclient.http does, with extra headers (encodings) on top.
func tritonCall(t *testing.T, g *Gateway, path string, r oiptest.Request, extra http.Header, encode string) (protocol.Response, oiptest.Response) {
	t.Helper()
	body, h, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	h.Set("apikey", keyAlice)
	for k, v := range extra {
		h[k] = v
	}
	if encode != "" {
		body = oiptest.Compress(encode, body)
		h.Set("Content-Encoding", encode)
	}
	res := g.Handle(context.Background(), apis.Router, protocol.Request{Method: "POST", Path: path, Header: h, Body: body})
	if res.Status != http.StatusOK {
		t.Fatalf("status %d: %s", res.Status, res.Body)
	}
	dec, err := oiptest.Decode(res.Header, res.Body)
	if err != nil {
		t.Fatalf("answer %q: %v", res.Body, err)
	}
	return res, dec
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

// TestTritonBinaryTensors: binary inputs and outputs, mixed with JSON
// ones, every kind of element the identity model echoes (BYTES, FP16...).
func TestTritonBinaryTensors(t *testing.T) {
	g := startGateway(t, adderConfig(t))
	// The adder: a binary, b JSON; sum binary, diff JSON.
	res, r := tritonCall(t, g, "/v2/models/adder/versions/1/infer", oiptest.Request{
		ID: "mixed",
		Inputs: []oiptest.Input{
			{Name: "a", Datatype: "FP32", Shape: []int64{1, 4}, Raw: oiptest.LE([]float32{1, 2, 3, 4}), Binary: true},
			{Name: "b", Datatype: "FP32", Shape: []int64{1, 4}, JSONData: []float32{10, 20, 30, 40}},
		},
		Outputs: []oiptest.Output{{Name: "sum", Binary: yes()}, {Name: "diff", Binary: no()}},
	}, nil, "")
	if ct := res.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("binary answer's Content-Type %q", ct)
	}
	sum, ok := r.Output("sum")
	if !ok || !sum.Binary || fmt.Sprint(sum.Float32s()) != "[11 22 33 44]" {
		t.Errorf("sum %+v", sum)
	}
	if diff, ok := r.Output("diff"); !ok || diff.Binary || string(diff.JSON) != "[-9,-18,-27,-36]" {
		t.Errorf("diff %+v", diff)
	}
	if r.ID != "mixed" || r.ModelVersion != "1" {
		t.Errorf("id %q, version %q", r.ID, r.ModelVersion)
	}

	// binary_data_output for all, without naming outputs; JSON input only.
	res, r = tritonCall(t, g, "/v2/models/adder/versions/1/infer", oiptest.Request{
		Inputs: []oiptest.Input{
			{Name: "a", Datatype: "FP32", Shape: []int64{1, 4}, JSONData: []float32{1, 2, 3, 4}},
			{Name: "b", Datatype: "FP32", Shape: []int64{1, 4}, JSONData: []float32{1, 1, 1, 1}},
		},
		BinaryDataOutput: true,
	}, nil, "")
	for _, name := range []string{"sum", "diff"} {
		if o, ok := r.Output(name); !ok || !o.Binary || len(o.Raw) != 16 {
			t.Errorf("binary_data_output: %s %+v", name, o)
		}
	}

	// Every datatype through the identity model, binary both ways.
	elems := map[tensor.DataType][]byte{
		tensor.FP32: oiptest.LE([]float32{1.5, -2.25}), tensor.FP64: oiptest.LE([]float64{0.1, -1e300}),
		tensor.FP16: oiptest.LE([]uint16{tensor.Float32ToHalf(0.5), tensor.Float32ToHalf(-2)}),
		tensor.Int8: oiptest.LE([]int8{-128, 127}), tensor.Int16: oiptest.LE([]int16{-32768, 32767}),
		tensor.Int32: oiptest.LE([]int32{-1 << 31, 1<<31 - 1}), tensor.Int64: oiptest.LE([]int64{-1 << 63, 1<<63 - 1}),
		tensor.UInt8: {0, 255}, tensor.UInt16: oiptest.LE([]uint16{0, 65535}), tensor.UInt32: oiptest.LE([]uint32{0, 1<<32 - 1}),
		tensor.UInt64: oiptest.LE([]uint64{0, 1<<64 - 1}), tensor.Bool: {1, 0},
		tensor.Bytes: oiptest.BytesElements("héllo", "\xff binary, no NUL"),
	}
	req := oiptest.Request{BinaryDataOutput: true}
	for dt, raw := range elems {
		req.Inputs = append(req.Inputs, oiptest.Input{Name: "in_" + strings.ToLower(string(dt)), Datatype: string(dt),
			Shape: []int64{1, 2}, Raw: raw, Binary: true})
	}
	_, r = tritonCall(t, g, "/v2/models/identity_types/infer", req, nil, "")
	for dt, raw := range elems {
		o, ok := r.Output("out_" + strings.ToLower(string(dt)))
		if !ok || !o.Binary || string(o.Raw) != string(raw) || o.Datatype != string(dt) {
			t.Errorf("%s: sent %x, got %+v", dt, raw, o)
		}
	}
	if o, _ := r.Output("out_bytes"); o.Binary {
		if s, err := o.Strings(); err != nil || len(s) != 2 || s[0] != "héllo" {
			t.Errorf("BYTES back %q: %v", s, err)
		}
	}
}

// TestTritonClassification: the top k of an output as "score:index:label",
// with the model's labels, in JSON or binary form.
func TestTritonClassification(t *testing.T) {
	g := startGateway(t, adderConfig(t))
	text := oiptest.Input{Name: "text", Datatype: "BYTES", Shape: []int64{2, 1},
		Raw: oiptest.BytesElements("a wonderful great film", "a terrible boring movie"), Binary: true}
	for _, binary := range []*bool{yes(), no()} {
		_, r := tritonCall(t, g, "/v2/models/text_sentiment/infer", oiptest.Request{
			Inputs:  []oiptest.Input{text},
			Outputs: []oiptest.Output{{Name: "logits", Binary: binary, Classification: 1}},
		}, nil, "")
		o, ok := r.Output("logits")
		if !ok || o.Datatype != "BYTES" || fmt.Sprint(o.Shape) != "[2 1]" || o.Binary != *binary {
			t.Fatalf("classified output %+v", o)
		}
		s, err := o.Strings()
		if err != nil || len(s) != 2 || !strings.HasSuffix(s[0], ":1:positive") || !strings.HasSuffix(s[1], ":0:negative") {
			t.Errorf("top 1 %q: %v", s, err)
		}
	}
	// k past the output's size is every class, best first.
	_, r := tritonCall(t, g, "/v2/models/text_sentiment/infer", oiptest.Request{
		Inputs:  []oiptest.Input{text},
		Outputs: []oiptest.Output{{Name: "logits", Classification: 5}},
	}, nil, "")
	o, _ := r.Output("logits")
	s, err := o.Strings()
	if err != nil || len(s) != 4 || fmt.Sprint(o.Shape) != "[2 2]" || !strings.HasSuffix(s[1], ":0:negative") {
		t.Errorf("top 5 of 2: %v %q: %v", o.Shape, s, err)
	}
	// A model without labels answers "score:index".
	_, r = tritonCall(t, g, "/v2/models/adder/versions/1/infer", oiptest.Request{
		Inputs: []oiptest.Input{
			{Name: "a", Datatype: "FP32", Shape: []int64{1, 4}, Raw: oiptest.LE([]float32{1, 5, 3, 4}), Binary: true},
			{Name: "b", Datatype: "FP32", Shape: []int64{1, 4}, Raw: oiptest.LE([]float32{0, 0, 0, 0}), Binary: true},
		},
		Outputs: []oiptest.Output{{Name: "sum", Classification: 2}},
	}, nil, "")
	o, _ = r.Output("sum")
	if s, err := o.Strings(); err != nil || fmt.Sprint(s) != "[5.000000:1 4.000000:3]" {
		t.Errorf("adder top 2 %q: %v", s, err)
	}
}

// TestTritonCompression: compressed requests inflate, answers compress
// in what Accept-Encoding allows, binary data and all; a bomb is a 413.
func TestTritonCompression(t *testing.T) {
	g := startGateway(t, adderConfig(t))
	req := oiptest.Request{
		Inputs: []oiptest.Input{
			{Name: "a", Datatype: "FP32", Shape: []int64{1, 4}, Raw: oiptest.LE([]float32{1, 2, 3, 4}), Binary: true},
			{Name: "b", Datatype: "FP32", Shape: []int64{1, 4}, JSONData: []float32{1, 1, 1, 1}},
		},
		Outputs: []oiptest.Output{{Name: "sum", Binary: yes()}, {Name: "diff"}},
	}
	for _, tt := range []struct{ send, accept, want string }{
		{"gzip", "", ""},
		{"deflate", "gzip", "gzip"},
		{"", "br, deflate", "deflate"},
		{"gzip", "gzip;q=0", ""},
	} {
		res, r := tritonCall(t, g, "/v2/models/adder/versions/1/infer", req, http.Header{"Accept-Encoding": {tt.accept}}, tt.send)
		if got := res.Header.Get("Content-Encoding"); got != tt.want {
			t.Errorf("%+v: answered in %q", tt, got)
		}
		sum, _ := r.Output("sum")
		if diff, _ := r.Output("diff"); fmt.Sprint(sum.Float32s()) != "[2 3 4 5]" || string(diff.JSON) != "[0,1,2,3]" {
			t.Errorf("%+v: sum %v diff %s", tt, sum.Float32s(), diff.JSON)
		}
	}
	// TF Serving's predict inflates the same way.
	h := http.Header{"Apikey": {keyAlice}, "Content-Encoding": {"deflate"}}
	predict := oiptest.Compress("deflate", []byte(`{"instances":[{"a":[1,2,3,4],"b":[1,1,1,1]}]}`))
	res := g.Handle(context.Background(), apis.Router, protocol.Request{Method: "POST", Path: "/v1/models/adder/versions/1:predict", Header: h, Body: predict})
	if res.Status != http.StatusOK || string(res.Body) != `{"predictions":[{"sum":[2,3,4,5],"diff":[0,1,2,3]}]}` {
		t.Errorf("deflated predict: %d %s", res.Status, res.Body)
	}
	// A small body that inflates past limits.max_body_bytes stops there.
	bomb := oiptest.Compress("gzip", append([]byte(`{"inputs":[{"name":"a","datatype":"BYTES","shape":[1],"data":["`),
		make([]byte, g.maxBody+1)...))
	h = http.Header{"Apikey": {keyAlice}, "Content-Encoding": {"gzip"}}
	res = g.Handle(context.Background(), apis.Router, protocol.Request{Method: "POST", Path: "/v2/models/adder/infer", Header: h, Body: bomb})
	if res.Status != http.StatusRequestEntityTooLarge || len(bomb) > g.maxBody/100 {
		t.Errorf("a %d-byte bomb: %d %s", len(bomb), res.Status, res.Body)
	}
}
