package oip

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/modelgate/modelgate/internal/oiptest"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol/jsontensor"
)

// sameAsEncodingJSON checks parseHeader against encoding/json on src: the
// same request, or the same error. It returns whether the fast path took src.
func sameAsEncodingJSON(t *testing.T, src []byte) bool {
	t.Helper()
	var want oipRequest
	werr := json.Unmarshal(src, &want)
	var fast oipRequest
	p := headerParser{jsontensor.NewScanner(src)}
	took := p.request(&fast)
	if took && werr != nil {
		t.Fatalf("the fast path accepted %q, encoding/json refuses it: %v", src, werr)
	}
	if took && !reflect.DeepEqual(fast, want) {
		t.Fatalf("%q: the fast path gives\n%#v\nencoding/json\n%#v", src, fast, want)
	}
	var got oipRequest
	gerr := parseHeader(src, &got)
	switch {
	case (gerr == nil) != (werr == nil):
		t.Fatalf("%q: parseHeader's error %v, encoding/json's %v", src, gerr, werr)
	case gerr != nil && gerr.Error() != werr.Error():
		t.Fatalf("%q: parseHeader's error %q, encoding/json's %q", src, gerr, werr)
	case gerr == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("%q: parseHeader gives\n%#v\nencoding/json\n%#v", src, got, want)
	}
	return took
}

// TestParseHeaderFastPath: the requests clients send take the fast path;
// the rest still decode as encoding/json decodes them.
func TestParseHeaderFastPath(t *testing.T) {
	sentence, _, err := oiptest.Request{Inputs: []oiptest.Input{{Name: "text", Datatype: "BYTES", Shape: []int64{1},
		JSONData: []string{"a wonderful film with a moving story and great acting"}}}}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	fast := []string{
		string(sentence),
		`{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}`,
		` { "id" : "r1", "inputs" : [ { "name" : "a" , "shape" : [ ] , "datatype" : "FP32" , "data" : 1.5e3 } ] , "outputs" : [ ] } `,
		`{"id":"x","inputs":[{"name":"t","shape":[2,2],"datatype":"INT64","data":[[1,2],[3,4]]}],"outputs":[{"name":"y","parameters":{"binary_data":true,"classification":3}}]}`,
		`{"inputs":[{"name":"s","shape":[2],"datatype":"BYTES","data":["a","\u00e9\n\"\\\/\b\f\r\t"]}],"parameters":{"timeout":5,"binary_data_output":false,"priority":1,"sequence_id":"q"}}`,
		`{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":16,"content_type":"x"}}]}`,
		`{"inputs":[{"name":"é","shape":[-0,-9223372036854775808],"datatype":"fp32","data":{"x":[null,true,false,{}]}}],"extra":{"a":[[[]]]}}`,
		"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":\"\xff\"}]}",
	}
	for _, s := range fast {
		if !sameAsEncodingJSON(t, []byte(s)) {
			t.Errorf("%s: not on the fast path", s)
		}
	}
	slow := []string{
		`{`, `[]`, `null`, ``, `{"inputs":[]}x`, `{"inputs":[],}`, `{,"inputs":[]}`,
		`{"Inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]}`,
		`{"inputs":[{"NAME":"a","ſhape":[1],"datatype":"FP32","data":[1]}]}`,
		`{"inputs":[{"name":"a"}],"inputs":[{"name":"b"}]}`,
		`{"inputs":[{"name":"a","shape":[1],"parameters":{"binary_data_size":4},"parameters":{}}]}`,
		`{"inputs":null}`, `{"inputs":[null]}`, `{"inputs":[{"name":"a","data":null}]}`, `{"parameters":null}`,
		`{"inputs":[{"name":"a\u0062","shape":[1.0],"datatype":"FP32","data":[1]}]}`,
		`{"inputs":[{"name":"a","shape":[1e2],"datatype":"FP32","data":[1]}]}`,
		`{"inputs":[{"name":"a","shape":[9223372036854775808],"datatype":"FP32","data":[1]}]}`,
		`{"inputs":[{"name":"a","shape":["x"],"datatype":"FP32","data":[1]}]}`,
		"{\"inputs\":[{\"name\":\"\xff\xfe\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}",
		`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[01]}]}`,
		`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[NaN]}]}`,
		`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1,]}]}`,
		`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":["\x01"]}]}`,
		`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":["\u12"]}]}`,
		`{"id":7,"inputs":[]}`, `{"parameters":{"timeout":-1.5}}`, `{"parameters":{"binary_data_output":1}}`,
		`{"outputs":[{"name":"y","parameters":{"binary_data":"true"}}]}`,
	}
	for _, s := range slow {
		sameAsEncodingJSON(t, []byte(s))
	}
}

// FuzzParseHeader compares parseHeader with encoding/json on any bytes.
// FuzzCheckInfer, FuzzDecodeInfer and FuzzCheckBinaryInfer run the same
// comparison on their corpora.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{
		`{"id":"x","inputs":[{"name":"t","shape":[2,2],"datatype":"INT64","data":[[1,2],[3,4]]}],"outputs":[{"name":"y","parameters":{"binary_data":true,"classification":3}}]}`,
		`{"inputs":[{"name":"s","shape":[2],"datatype":"BYTES","data":["a","\u00e9\n"]}],"parameters":{"timeout":5,"binary_data_output":true,"priority":1}}`,
		`{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":16,"content_type":"x"}}]}`,
		`{"Inputs":[{"nAme":"a","shape":[1],"datatype":"FP32","data":null}],"inputs":null}`,
		`{"inputs":[{"name":"a","shape":[1e2,-0,01],"datatype":"FP32","data":[1,]}]}`,
		" {\t\"id\" : \"r1\" , \"inputs\" : [ { \"name\" : \"a\" , \"shape\" : [ 1 ] , \"datatype\" : \"FP32\" , \"data\" : [ 1.5e3 ] ," +
			" \"parameters\" : { \"x\" : { \"y\" : [ 1 ] } } } ] ,\r\n \"outputs\" : [ { \"name\" : \"o\" } ] } ",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		sameAsEncodingJSON(t, src)
	})
}

// BenchmarkParseHeader: the request header alone, parseHeader against
// encoding/json, for the sentences workload's body (one short text) and
// for a batch of token ids sent as binary tensor data (header only).
func BenchmarkParseHeader(b *testing.B) {
	sentence, _, err := oiptest.Request{Inputs: []oiptest.Input{{Name: "text", Datatype: "BYTES", Shape: []int64{1},
		JSONData: []string{"a wonderful film with a moving story and great acting"}}}}.Encode()
	if err != nil {
		b.Fatal(err)
	}
	binaryHeader := []byte(`{"inputs":[{"name":"tokens","shape":[32,64],"datatype":"INT64","parameters":{"binary_data_size":16384}}],"outputs":[{"name":"probabilities","parameters":{"binary_data":true}}]}`)
	for _, body := range []struct {
		name string
		src  []byte
	}{{"sentence", sentence}, {"binary", binaryHeader}} {
		b.Run(body.name+"/parseHeader", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				var req oipRequest
				if err := parseHeader(body.src, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(body.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				var req oipRequest
				if err := json.Unmarshal(body.src, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
