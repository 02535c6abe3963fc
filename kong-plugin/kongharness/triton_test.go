package kongharness_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/oiptest"
	"github.com/modelgate/modelgate/kong-plugin/kongharness"
	"github.com/modelgate/modelgate/shared/tensor"
)

// TestTritonClientThroughKong: a Triton client's binary tensors,
// classification and compressed bodies, through the plugin server as Kong
// drives it, the body in memory and spilled to a file as nginx does.
func TestTritonClientThroughKong(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, kongharness.Options{})
	inst, err := srv.StartInstance(ctx, "modelgate", pluginConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, srv, inst.ID)
	consumers := map[string]kongharness.Consumer{"demo": {ID: "c0ffee", Username: "demo"}}

	meta, err := srv.Access(ctx, inst.ID, kongharness.Request{Method: "GET", Path: "/v2"})
	if err != nil || meta.Status != 200 || !strings.Contains(string(meta.Body), `"extensions":["binary_tensor_data","classification"]`) {
		t.Fatalf("server metadata: %v %+v %s", err, meta, meta.Body)
	}

	yes, no := true, false
	tests := []struct {
		name, path   string
		req          oiptest.Request
		send, accept string
		check        func(oiptest.Response) error
	}{
		{"binary in and out, mixed with JSON", "/v2/models/adder/versions/1/infer", oiptest.Request{
			Inputs: []oiptest.Input{
				{Name: "a", Datatype: "FP32", Shape: []int64{1, 4}, Raw: oiptest.LE([]float32{1, 2, 3, 4}), Binary: true},
				{Name: "b", Datatype: "FP32", Shape: []int64{1, 4}, JSONData: []float32{10, 20, 30, 40}},
			},
			Outputs: []oiptest.Output{{Name: "sum", Binary: &yes}, {Name: "diff", Binary: &no}},
		}, "", "", func(r oiptest.Response) error {
			sum, _ := r.Output("sum")
			diff, _ := r.Output("diff")
			if !sum.Binary || fmt.Sprint(sum.Float32s()) != "[11 22 33 44]" || string(diff.JSON) != "[-9,-18,-27,-36]" {
				return fmt.Errorf("sum %+v diff %s", sum, diff.JSON)
			}
			return nil
		}},
		{"BYTES and FP16, gzip both ways", "/v2/models/identity_types/infer", oiptest.Request{
			Inputs:  identityInputs(),
			Outputs: []oiptest.Output{{Name: "out_bytes", Binary: &yes}, {Name: "out_fp16", Binary: &yes}},
		}, "gzip", "gzip", func(r oiptest.Response) error {
			b, _ := r.Output("out_bytes")
			h, _ := r.Output("out_fp16")
			if s, err := b.Strings(); err != nil || fmt.Sprint(s) != "[héllo wörld]" || string(h.Raw) != string(oiptest.LE([]uint16{0x3800, 0xc000})) {
				return fmt.Errorf("bytes %q (%v), fp16 %x", s, err, h.Raw)
			}
			return nil
		}},
		{"classification, deflate answer", "/v2/models/text_sentiment/infer", oiptest.Request{
			Inputs: []oiptest.Input{{Name: "text", Datatype: "BYTES", Shape: []int64{1, 1},
				Raw: oiptest.BytesElements("a wonderful great film"), Binary: true}},
			Outputs: []oiptest.Output{{Name: "logits", Binary: &yes, Classification: 2}},
		}, "deflate", "deflate", func(r oiptest.Response) error {
			o, _ := r.Output("logits")
			s, err := o.Strings()
			if err != nil || len(s) != 2 || !strings.HasSuffix(s[0], ":1:positive") || !strings.HasSuffix(s[1], ":0:negative") {
				return fmt.Errorf("top 2 %q: %v", s, err)
			}
			return nil
		}},
	}
	for _, tt := range tests {
		body, h, err := tt.req.Encode()
		if err != nil {
			t.Fatal(err)
		}
		h.Set("Apikey", apiKey)
		if tt.send != "" {
			body = oiptest.Compress(tt.send, body)
			h.Set("Content-Encoding", tt.send)
		}
		if tt.accept != "" {
			h.Set("Accept-Encoding", tt.accept)
		}
		for _, bufferSize := range []int{0, 16} {
			res, err := srv.Access(ctx, inst.ID, kongharness.Request{Method: "POST", Path: tt.path, Header: h, Body: body,
				Consumers: consumers, BodyBufferSize: bufferSize})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Exited || res.Status != http.StatusOK || res.Header.Get("Content-Encoding") != tt.accept {
				t.Fatalf("%s (buffer %d): %+v %s", tt.name, bufferSize, res, res.Body)
			}
			r, err := oiptest.Decode(res.Header, res.Body)
			if err == nil {
				err = tt.check(r)
			}
			if err != nil {
				t.Errorf("%s (buffer %d): %v", tt.name, bufferSize, err)
			}
		}
	}
}

// identityInputs are the identity model's inputs, all binary: BYTES and
// FP16 with values, the others two zeros each.
func identityInputs() []oiptest.Input {
	in := []oiptest.Input{
		{Name: "in_bytes", Datatype: "BYTES", Shape: []int64{1, 2}, Raw: oiptest.BytesElements("héllo", "wörld"), Binary: true},
		{Name: "in_fp16", Datatype: "FP16", Shape: []int64{1, 2}, Raw: oiptest.LE([]uint16{tensor.Float32ToHalf(0.5), tensor.Float32ToHalf(-2)}), Binary: true},
	}
	for _, dt := range []tensor.DataType{tensor.FP32, tensor.FP64, tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64,
		tensor.UInt8, tensor.UInt16, tensor.UInt32, tensor.UInt64, tensor.Bool} {
		in = append(in, oiptest.Input{Name: "in_" + strings.ToLower(string(dt)), Datatype: string(dt), Shape: []int64{1, 2},
			Raw: make([]byte, 2*dt.Size()), Binary: true})
	}
	return in
}
