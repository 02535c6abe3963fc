package oip

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol/jsontensor"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol/routetest"
	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
)

// Fuzz targets for what a client controls byte for byte: the inference JSON
// body and the request path. `make test` runs each for a few seconds; the
// seed corpus is in testdata/fuzz.

func FuzzDecodeInfer(f *testing.F) {
	for _, s := range []string{
		`{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}`,
		`{"id":"x","inputs":[{"name":"t","shape":[2,2],"datatype":"INT64","data":[[1,2],[3,4]]}],"outputs":[{"name":"y"}]}`,
		`{"inputs":[{"name":"s","shape":[2],"datatype":"BYTES","data":["a","\u00e9\n"]}]}`,
		`{"inputs":[{"name":"b","shape":[3],"datatype":"BOOL","data":[true,false,true]}]}`,
		`{"inputs":[{"name":"h","shape":[1],"datatype":"FP16","data":[65504]}]}`,
		`{"inputs":[{"name":"a","shape":[-1],"datatype":"FP32","data":[]}]}`,
		`{"inputs":[{"name":"a","shape":[4611686018427387904,4],"datatype":"INT8","data":[1]}]}`,
		`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[NaN]}]}`,
		`{"inputs":[{"name":"a","shape":[1],"datatype":"UINT8","data":[256]}]}`,
		`{"inputs":[{"name":"a","shape":[1],"datatype":"INT32","data":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]}`,
		`{"inputs":[{"name":"a","shape":[2],"datatype":"FP64","data":[1e308,-0]},{"name":"a","shape":[1],"datatype":"FP64","data":[1]}]}`,
		`{"inputs":[`,
	} {
		f.Add([]byte(s), int64(1<<20))
	}
	f.Fuzz(func(t *testing.T, body []byte, maxElements int64) {
		sameAsEncodingJSON(t, body)
		req, gerr := decodeInfer(body, maxElements)
		if gerr != nil {
			if gerr.Kind != protocol.KindBadRequest {
				t.Fatalf("a bad body must be a 400, got kind %d: %v", gerr.Kind, gerr)
			}
			return
		}
		if len(req.Inputs) == 0 {
			t.Fatal("accepted a request without inputs")
		}
		names := map[string]bool{}
		for _, in := range req.Inputs {
			if in.Name == "" || names[in.Name] {
				t.Fatalf("accepted an input with an empty or repeated name %q", in.Name)
			}
			names[in.Name] = true
			dt, err := tensor.ParseDataType(in.Datatype)
			if err != nil {
				t.Fatalf("accepted datatype %q: %v", in.Datatype, err)
			}
			// What the gateway forwards must pass the sidecar's own check.
			if err := tensor.CheckRaw(dt, in.Shape, in.Raw, maxElements); err != nil {
				t.Fatalf("accepted input %s that CheckRaw refuses: %v", in.Name, err)
			}
		}
		for _, o := range req.Outputs {
			if o == "" {
				t.Fatal("accepted an output without a name")
			}
		}
	})
}

// FuzzCheckInfer checks the step before quota: whatever it accepts has
// element counts its data's bytes can hold (so nothing later allocates for a
// declared size), and decoding it is either a request or a 400.
func FuzzCheckInfer(f *testing.F) {
	for _, s := range []string{
		`{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}`,
		`{"inputs":[{"name":"x","shape":[16777216],"datatype":"BYTES","data":[""]}]}`,
		`{"inputs":[{"name":"x","shape":[16777216],"datatype":"INT64","data":[1]}]}`,
		`{"inputs":[{"name":"x","shape":[3],"datatype":"BYTES","data":["","",""]}],"parameters":{"timeout":5}}`,
		`{"inputs":[{"name":"x","shape":[4611686018427387904,0],"datatype":"FP64","data":[]}]}`,
	} {
		f.Add([]byte(s), int64(1<<24))
	}
	f.Fuzz(func(t *testing.T, body []byte, maxElements int64) {
		sameAsEncodingJSON(t, body)
		c, gerr := checkInfer(body, maxElements)
		if gerr != nil {
			if gerr.Kind != protocol.KindBadRequest {
				t.Fatalf("a bad body must be a 400, got kind %d: %v", gerr.Kind, gerr)
			}
			return
		}
		for _, in := range c.req.Inputs {
			if n := in.count; n > 0 && n*(jsontensor.MinElementBytes(in.dt)+1)-1 > int64(len(in.Data)) {
				t.Fatalf("input %s: %d elements accepted from %d bytes of data", in.Name, n, len(in.Data))
			}
		}
		if items := c.batchItems(&pb.ModelMetadataResponse{MaxBatchSize: 8}); int64(items) > int64(len(body)) {
			t.Fatalf("%d batch items from a %d-byte body", items, len(body))
		}
		if _, derr := c.decode(); derr != nil && derr.Kind != protocol.KindBadRequest {
			t.Fatalf("decoding a checked body must succeed or be a 400, got kind %d: %v", derr.Kind, derr)
		}
	})
}

func FuzzParseRoute(f *testing.F) {
	for _, p := range []string{
		"/v2/models/sentiment/infer", "/v2/models/sentiment/versions/2/infer", "/v2/health/ready",
		"/v2/models/m/versions/1/ready", "/v2/repository/index", "/ml/v2/models/m", "/v2",
		"/v2/models/../infer", "/v2/models/a/versions/..%2F/infer",
		"/v2/models//infer", "//v2//models//x//infer",
	} {
		f.Add(http.MethodPost, p)
		f.Add(http.MethodGet, p)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		r, gerr := parseRoute(method, path)
		if gerr != nil {
			routetest.CheckRefusal(t, path, gerr)
			return
		}
		for what, name := range map[string]string{"model": r.model, "version": r.version} {
			if name == "" {
				continue
			}
			// A name reaches the sidecar and Redis keys: never a path piece.
			if !config.ValidName(name) || strings.Contains(name, "/") || strings.Contains(name, "..") {
				t.Fatalf("path %q gave %s %q", path, what, name)
			}
		}
		if r.endpoint == epInfer && method != http.MethodPost {
			t.Fatalf("%s %q routed to inference", method, path)
		}
		if r.endpoint == epInfer && r.model == "" {
			t.Fatalf("path %q routed to inference without a model", path)
		}
	})
}

// FuzzCheckBinaryInfer: a body with binary tensor data and the
// Inference-Header-Content-Length a client declares for it. Whatever it
// declares, a bad one is a 400, and what passes the check decodes into
// inputs the sidecar's own check accepts.
func FuzzCheckBinaryInfer(f *testing.F) {
	seed := func(json string, bin []byte) {
		f.Add(append([]byte(json), bin...), len(json), int64(1<<20))
	}
	seed(`{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":16}}]}`, make([]byte, 16))
	seed(`{"inputs":[{"name":"s","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":10}}]}`,
		[]byte{2, 0, 0, 0, 'a', 'b', 0, 0, 0, 0})
	seed(`{"inputs":[{"name":"h","shape":[1],"datatype":"FP16","parameters":{"binary_data_size":2}},{"name":"j","shape":[1],"datatype":"INT8","data":[1]}]}`,
		[]byte{0, 0x3c})
	seed(`{"inputs":[{"name":"s","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":4}}]}`, []byte{255, 255, 255, 255})
	seed(`{"inputs":[{"name":"a","shape":[4611686018427387904,4],"datatype":"INT8","parameters":{"binary_data_size":4}}]}`, make([]byte, 4))
	f.Fuzz(func(t *testing.T, body []byte, headerLen int, maxElements int64) {
		h := http.Header{"Content-Type": {"application/octet-stream"}, "Inference-Header-Content-Length": {strconv.Itoa(headerLen)}}
		c := &codec{header: h, body: body, answerHeaderLen: -1}
		if headerLen >= 0 && headerLen <= len(body) {
			sameAsEncodingJSON(t, body[:headerLen])
		}
		if c.Admit(1<<20) != nil {
			return
		}
		if _, err := c.Check(maxElements); err != nil {
			if err.Kind != protocol.KindBadRequest {
				t.Fatalf("a bad body must be a 400, got kind %d: %v", err.Kind, err)
			}
			return
		}
		req, derr := c.checked.decode()
		if derr != nil {
			if derr.Kind != protocol.KindBadRequest {
				t.Fatalf("a bad body must be a 400, got kind %d: %v", derr.Kind, derr)
			}
			return
		}
		for _, in := range req.Inputs {
			dt, _ := tensor.ParseDataType(in.Datatype)
			if err := tensor.CheckRaw(dt, in.Shape, in.Raw, maxElements); err != nil {
				t.Fatalf("accepted input %s that CheckRaw refuses: %v", in.Name, err)
			}
		}
	})
}
