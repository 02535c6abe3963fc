package pluginserver

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/Kong/go-pdk/bridge"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// goPDKHeaders is what go-pdk's way makes of b: proto.Unmarshal into a
// Struct, bridge.UnwrapHeaders, then canonical names (the adapter's
// canonical). ambiguous reports names that differ only in case, which
// that way orders at random.
func goPDKHeaders(b []byte) (h http.Header, ambiguous bool, err error) {
	var st structpb.Struct
	if err := proto.Unmarshal(b, &st); err != nil {
		return nil, false, err
	}
	h = http.Header{}
	for k, v := range bridge.UnwrapHeaders(&st) {
		name := http.CanonicalHeaderKey(k)
		if _, ok := h[name]; ok {
			ambiguous = true
		}
		h[name] = v
	}
	return h, ambiguous, nil
}

// kongHeaders encodes headers as Kong answers get_headers: a string for a
// header sent once, a list for one sent more than once.
func kongHeaders(t testing.TB, headers map[string]any) []byte {
	t.Helper()
	st, err := structpb.NewStruct(headers)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func headerSeeds(t testing.TB) [][]byte {
	return [][]byte{
		kongHeaders(t, map[string]any{"host": "localhost:8000", "apikey": "mg_x", "content-type": "application/json",
			"accept": []any{"text/plain", "application/json"}, "x-empty": "", "x-none": []any{}}),
		kongHeaders(t, map[string]any{"x-number": 7, "x-bool": true, "x-null": nil, "x-struct": map[string]any{"a": "b"},
			"x-mixed": []any{"a", 1, "c"}}),
		kongHeaders(t, map[string]any{"X-Case": "a", "x-case": "b"}),
		{},
		{0x0a, 0x02, 0x0a},                   // a truncated entry
		{0x0a, 0x04, 0x0a, 0x02, 0xff, 0xfe}, // a name that is not UTF-8
	}
}

// TestDecodeHeadersAsGoPDK: Kong's usual answer and the unusual ones
// decode as go-pdk's way decodes them.
func TestDecodeHeadersAsGoPDK(t *testing.T) {
	for i, b := range headerSeeds(t) {
		want, ambiguous, wantErr := goPDKHeaders(b)
		got, err := DecodeHeaders(b)
		if (err != nil) != (wantErr != nil) {
			t.Errorf("seed %d: error %v, go-pdk's way %v", i, err, wantErr)
			continue
		}
		if !ambiguous && !reflect.DeepEqual(got, want) {
			t.Errorf("seed %d: %v, go-pdk's way %v", i, got, want)
		}
	}
	h, err := DecodeHeaders(headerSeeds(t)[0])
	if err != nil || h.Get("Apikey") != "mg_x" || len(h["Accept"]) != 2 || h["X-None"] == nil || len(h["X-None"]) != 0 {
		t.Errorf("Kong's usual answer: %v %v", h, err)
	}
}

func FuzzDecodeHeaders(f *testing.F) {
	for _, b := range headerSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, ambiguous, wantErr := goPDKHeaders(b)
		got, err := DecodeHeaders(b)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("error %v, go-pdk's way %v", err, wantErr)
		}
		if !ambiguous && !reflect.DeepEqual(got, want) {
			t.Fatalf("%v, go-pdk's way %v", got, want)
		}
	})
}

// benchHeaders is a request's headers as Kong answers get_headers: the
// bench's sentence through curl with an API key.
func benchHeaders(b *testing.B) []byte {
	return kongHeaders(b, map[string]any{"host": "localhost:8000", "user-agent": "curl/8.14.1", "accept": "*/*",
		"apikey": "mg_demo_e61044aa8a46a9ee4a1912d0839d8a2f", "content-type": "application/json", "content-length": "92",
		"x-forwarded-for": "10.0.0.1", "x-forwarded-proto": "http", "x-real-ip": "10.0.0.1"})
}

func BenchmarkDecodeHeaders(b *testing.B) {
	data := benchHeaders(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeHeaders(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeHeadersGoPDK is go-pdk's way, for comparison.
func BenchmarkDecodeHeadersGoPDK(b *testing.B) {
	data := benchHeaders(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := goPDKHeaders(data); err != nil {
			b.Fatal(err)
		}
	}
}
