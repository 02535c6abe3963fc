package gateway

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
)

// Fuzz targets for what a client controls byte for byte: the inference JSON
// body, the `data` parser and the request path. `make test` runs each for a
// few seconds; the seed corpus is in testdata/fuzz.

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
		req, gerr := decodeInfer(body, maxElements)
		if gerr != nil {
			if gerr.Kind != KindBadRequest {
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
		c, gerr := checkInfer(body, maxElements)
		if gerr != nil {
			if gerr.Kind != KindBadRequest {
				t.Fatalf("a bad body must be a 400, got kind %d: %v", gerr.Kind, gerr)
			}
			return
		}
		for i, in := range c.req.Inputs {
			if n := c.counts[i]; n > 0 && n*(minElementBytes(c.types[i])+1)-1 > int64(len(in.Data)) {
				t.Fatalf("input %s: %d elements accepted from %d bytes of data", in.Name, n, len(in.Data))
			}
		}
		if items := c.batchItems(&pb.ModelMetadataResponse{MaxBatchSize: 8}); int64(items) > int64(len(body)) {
			t.Fatalf("%d batch items from a %d-byte body", items, len(body))
		}
		if _, derr := c.decode(); derr != nil && derr.Kind != KindBadRequest {
			t.Fatalf("decoding a checked body must succeed or be a 400, got kind %d: %v", derr.Kind, derr)
		}
	})
}

var fuzzDataTypes = []tensor.DataType{tensor.Bool, tensor.UInt8, tensor.UInt16, tensor.UInt32, tensor.UInt64,
	tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64, tensor.FP16, tensor.FP32, tensor.FP64, tensor.Bytes}

// FuzzParseData checks the hand-written `data` parser against
// encoding/json: whatever it accepts from valid JSON must be the same
// elements, in the same order, that encoding/json reads.
func FuzzParseData(f *testing.F) {
	for _, s := range []struct {
		typ  uint8
		data string
		n    int64
	}{
		{8, `[[1,2],[3,-4]]`, 4}, {8, `[1e3, 2.0, -0]`, 3}, {11, `[1.5,-2.25e-3,1e308]`, 3},
		{0, `[true,false]`, 2}, {12, `["a","b\"c","\u0000"]`, 3}, {10, `[3.4e38]`, 1},
		{4, `[18446744073709551615]`, 1}, {5, `[-128,127]`, 2}, {9, `[65504,-0.0001]`, 2},
		{8, `7`, 1}, {8, `[]`, 0}, {8, `[[],[]]`, 0}, {8, `[1,]`, 1}, {8, `[1 2]`, 2}, {11, `[NaN]`, 1},
	} {
		f.Add(s.typ, []byte(s.data), s.n)
	}
	f.Fuzz(func(t *testing.T, typ uint8, src []byte, want int64) {
		if want < 0 || want > 1<<16 {
			// decodeInput passes ElementCount's result, bounded by max_elements.
			return
		}
		dt := fuzzDataTypes[int(typ)%len(fuzzDataTypes)]
		raw, err := parseData(dt, src, want)
		if err != nil {
			return
		}
		if err := tensor.CheckRaw(dt, []int64{want}, raw, 0); err != nil {
			t.Fatalf("parsed %s data that CheckRaw refuses: %v", dt, err)
		}
		if !json.Valid(src) {
			return
		}
		d := json.NewDecoder(bytes.NewReader(src))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("json.Valid but not decodable: %v", err)
		}
		leaves := flatten(v, nil)
		if int64(len(leaves)) != want {
			t.Fatalf("parsed %d elements, encoding/json sees %d", want, len(leaves))
		}
		compareLeaves(t, dt, raw, leaves)
	})
}

func flatten(v any, out []any) []any {
	if a, ok := v.([]any); ok {
		for _, e := range a {
			out = flatten(e, out)
		}
		return out
	}
	return append(out, v)
}

func compareLeaves(t *testing.T, dt tensor.DataType, raw []byte, leaves []any) {
	t.Helper()
	le := binary.LittleEndian
	switch dt {
	case tensor.Bool:
		for i, l := range leaves {
			if b, ok := l.(bool); !ok || (raw[i] == 1) != b || raw[i] > 1 {
				t.Fatalf("element %d: parsed %d, encoding/json %v", i, raw[i], l)
			}
		}
	case tensor.Int64:
		for i, l := range leaves {
			n, ok := l.(json.Number)
			got := int64(le.Uint64(raw[8*i:]))
			if !ok {
				t.Fatalf("element %d: parsed %d from %v", i, got, l)
			}
			if want, err := n.Int64(); err == nil && got != want {
				t.Fatalf("element %d: parsed %d, encoding/json %d", i, got, want)
			}
			if f, err := n.Float64(); err != nil || f != math.Trunc(f) || math.Abs(float64(got)-f) > math.Abs(f)*1e-15+1 {
				t.Fatalf("element %d: parsed %d from %s", i, got, n)
			}
		}
	case tensor.FP64:
		for i, l := range leaves {
			n, ok := l.(json.Number)
			got := math.Float64frombits(le.Uint64(raw[8*i:]))
			want, err := n.Float64()
			if !ok || err != nil || math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("element %d: parsed %v, encoding/json %v (%v)", i, got, l, err)
			}
		}
	case tensor.FP32:
		for i, l := range leaves {
			n, ok := l.(json.Number)
			got := math.Float32frombits(le.Uint32(raw[4*i:]))
			if !ok || math.IsNaN(float64(got)) || math.IsInf(float64(got), 0) {
				t.Fatalf("element %d: parsed %v from %v", i, got, l)
			}
			if f, err := n.Float64(); err == nil && float32(f) != got && !(f != 0 && math.Abs(float64(got)-f) <= math.Abs(f)*1e-6) {
				t.Fatalf("element %d: parsed %v, encoding/json %v", i, got, f)
			}
		}
	case tensor.Bytes:
		elems, err := tensor.DecodeBytes(raw, int64(len(leaves)))
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range leaves {
			s, ok := l.(string)
			// Invalid UTF-8 inside a JSON string passes through as raw bytes
			// (BYTES may be binary), where encoding/json would put U+FFFD.
			if ok && !utf8.Valid(elems[i]) {
				continue
			}
			if !ok || string(elems[i]) != s {
				t.Fatalf("element %d: parsed %q, encoding/json %q", i, elems[i], l)
			}
		}
	}
}

func FuzzParseRoute(f *testing.F) {
	for _, p := range []string{
		"/v2/models/sentiment/infer", "/v2/models/sentiment/versions/2/infer", "/v2/health/ready",
		"/v2/models/m/versions/1/ready", "/v2/repository/index", "/ml/v2/models/m", "/v2",
		"/v1/models/sentiment:predict", "/v1/models/sentiment/labels/stable:predict",
		"/v1/models/sentiment/versions/1:predict", "/v2/models/../infer", "/v2/models/a/versions/..%2F/infer",
		"/v2/models//infer", "/v1/models/a/b/c:predict", "/v1/models/:predict", "//v2//models//x//infer",
	} {
		f.Add(http.MethodPost, p)
		f.Add(http.MethodGet, p)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		r, gerr := parseRoute(method, path)
		if gerr != nil {
			switch gerr.Kind {
			case KindNotFound, KindBadRequest:
			case KindMethodNotAllowed:
				if len(gerr.Header.Values("Allow")) != 1 {
					t.Fatalf("405 without one Allow header: %v", gerr.Header)
				}
			default:
				t.Fatalf("path %q: error kind %d, want 404, 400 or 405", path, gerr.Kind)
			}
			return
		}
		for what, name := range map[string]string{"model": r.model, "version": r.version, "alias": r.alias} {
			if name == "" {
				continue
			}
			// A name reaches the sidecar and Redis keys: never a path piece.
			if !config.ValidName(name) || strings.Contains(name, "/") || strings.Contains(name, "..") {
				t.Fatalf("path %q gave %s %q", path, what, name)
			}
		}
		if r.inference() && method != http.MethodPost {
			t.Fatalf("%s %q routed to inference", method, path)
		}
		if r.inference() && r.model == "" {
			t.Fatalf("path %q routed to inference without a model", path)
		}
	})
}

func FuzzDecodePredict(f *testing.F) {
	for _, s := range []string{`{"text":"great movie"}`, `{"instances":[[1,2],[3,4]]}`, `{"instances":[{"a":1}]}`,
		`{"text":"x","instances":[1]}`, `{"instances":[]}`, `{}`, `[`, `{"text":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		instances, gerr := decodePredict(body)
		if gerr != nil {
			if gerr.Kind != KindBadRequest {
				t.Fatalf("a bad predict body must be a 400, got kind %d", gerr.Kind)
			}
			return
		}
		if len(instances) == 0 {
			t.Fatal("accepted a predict body without instances")
		}
		for i, in := range instances {
			if !json.Valid(in) {
				t.Fatalf("instance %d is not JSON: %q", i, in)
			}
		}
	})
}
