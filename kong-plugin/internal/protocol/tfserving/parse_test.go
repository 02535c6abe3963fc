package tfserving

import (
	"encoding/json"
	"reflect"
	"testing"
)

// samePredictAsEncodingJSON checks parsePredict against encoding/json on
// body: the same request, or the same error.
func samePredictAsEncodingJSON(t *testing.T, body []byte) {
	t.Helper()
	var want, got predictRequest
	werr := json.Unmarshal(body, &want)
	gerr := parsePredict(body, &got)
	switch {
	case (gerr == nil) != (werr == nil):
		t.Fatalf("%q: parsePredict's error %v, encoding/json's %v", body, gerr, werr)
	case gerr != nil && gerr.Error() != werr.Error():
		t.Fatalf("%q: parsePredict's error %q, encoding/json's %q", body, gerr, werr)
	case gerr == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("%q: parsePredict gives\n%#v\nencoding/json\n%#v", body, got, want)
	}
}

func TestParsePredictAsEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`{"text":"a wonderful film with a moving story and great acting"}`,
		` { "instances" : [ "a" , [1, 2.5e3], {"a": [true, null]} ], "signature_name": "x" } `,
		`{"text":"é<&>"}`,
	} {
		var req predictRequest
		if !scanPredict([]byte(s), &req) {
			t.Errorf("%s: not on the single pass", s)
		}
		samePredictAsEncodingJSON(t, []byte(s))
	}
	for _, s := range []string{
		`{"text":"\u00e9<&>"}`, `{"TEXT":"x"}`, `{"text":"x","text":"y"}`, `{"text":null}`,
		`{"instances":[null]}`, `{"instances":[1,]}`, `{"instances":[01]}`, `{"text":1}`, `[]`, `null`, ``,
		"{\"text\":\"\xff\"}",
	} {
		samePredictAsEncodingJSON(t, []byte(s))
	}
}

// FuzzParsePredict compares parsePredict with encoding/json on any bytes;
// FuzzDecodePredict runs the same comparison on its corpus.
func FuzzParsePredict(f *testing.F) {
	for _, s := range []string{`{"text":"great movie"}`, `{"instances":[[1,2],{"a":"b"},"c"]}`, `{"Text":"x","instances":null}`,
		" { \"text\" : \"x\" ,\n \"instances\" : [ { \"a\" : 1 } ] } "} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		samePredictAsEncodingJSON(t, body)
	})
}

// BenchmarkParsePredict: the sentences workload's :predict body, parsePredict
// against encoding/json.
func BenchmarkParsePredict(b *testing.B) {
	body := []byte(`{"text":"a wonderful film with a moving story and great acting"}`)
	for _, tt := range []struct {
		name  string
		parse func([]byte, *predictRequest) error
	}{
		{"parsePredict", parsePredict},
		{"encoding-json", func(body []byte, req *predictRequest) error { return json.Unmarshal(body, req) }},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				var req predictRequest
				if err := tt.parse(body, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
