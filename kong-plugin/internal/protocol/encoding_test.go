package protocol

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strings"
	"testing"
)

func compressed(enc string, body []byte) []byte {
	var b bytes.Buffer
	var w io.WriteCloser = zlib.NewWriter(&b)
	if strings.EqualFold(enc, "gzip") {
		w = gzip.NewWriter(&b)
	}
	w.Write(body)
	w.Close()
	return b.Bytes()
}

// TestInflateThroughTheCap: a body inflates up to the limit; the first
// byte past it is a 413, however small the compressed body.
func TestInflateThroughTheCap(t *testing.T) {
	const limit = 1 << 16
	bomb := make([]byte, 8<<20) // 8 MiB of zeros: about 8 KiB compressed
	for _, enc := range []string{"gzip", "deflate", "GZip"} {
		h := http.Header{"Content-Encoding": {enc}}
		exact := bytes.Repeat([]byte("x"), limit)
		if got, err := Inflate(h, compressed(enc, exact), limit); err != nil || !bytes.Equal(got, exact) {
			t.Errorf("%s: %d bytes at the limit: %v", enc, len(got), err)
		}
		if _, err := Inflate(h, compressed(enc, exact[:0:0]), limit); err != nil {
			t.Errorf("%s: an empty body: %v", enc, err)
		}
		if _, err := Inflate(h, compressed(enc, append(exact, 'x')), limit); err == nil || err.Kind != KindTooLarge {
			t.Errorf("%s: one byte past the limit: %v, want a 413", enc, err)
		}
		z := compressed(enc, bomb)
		if _, err := Inflate(h, z, limit); err == nil || err.Kind != KindTooLarge {
			t.Errorf("%s: a %d-byte bomb: %v, want a 413", enc, len(z), err)
		}
		if _, err := Inflate(h, z[:len(z)/2], limit*1024); err == nil || err.Kind != KindBadRequest {
			t.Errorf("%s: a cut body: %v, want a 400", enc, err)
		}
	}
	if _, err := Inflate(http.Header{"Content-Encoding": {"br"}}, []byte("x"), limit); err == nil || err.Kind != KindUnsupportedMedia {
		t.Errorf("br: %v, want a 415", err)
	}
	if got, err := Inflate(http.Header{"Content-Encoding": {"identity"}}, []byte("x"), limit); err != nil || string(got) != "x" {
		t.Errorf("identity: %q %v", got, err)
	}
}

func TestAcceptedEncoding(t *testing.T) {
	for accept, want := range map[string]string{
		"":                        "",
		"gzip":                    "gzip",
		"deflate":                 "deflate",
		"br, deflate;q=0.5, gzip": "gzip", "deflate;q=0.5, gzip;q=0.8": "gzip", "deflate, gzip": "deflate", "identity, gzip": "", "gzip;q=x, deflate;q=0.1": "deflate",
		"gzip;q=0, deflate":       "deflate",
		"GZIP ; q=1.0":            "gzip",
		"identity, *":             "",
		"gzip;q=0, deflate;q=0.0": "",
	} {
		if got := AcceptedEncoding(accept); got != want {
			t.Errorf("%q: %q, want %q", accept, got, want)
		}
	}
}

// TestCompressRoundTrip: an answer comes back whole in either encoding; a
// small one in stored blocks (a few bytes over its size), a large one
// compressed.
func TestCompressRoundTrip(t *testing.T) {
	large := bytes.Repeat(smallAnswer, 8)
	for _, enc := range []string{"gzip", "deflate"} {
		for _, body := range [][]byte{smallAnswer, large, {}} {
			z, err := Compress(enc, body)
			if err != nil {
				t.Fatal(err)
			}
			got, ierr := Inflate(http.Header{"Content-Encoding": {enc}}, z, 1<<20)
			if ierr != nil || !bytes.Equal(got, body) {
				t.Errorf("%s, %d bytes: came back as %d bytes: %v", enc, len(body), len(got), ierr)
			}
			switch stored := len(body) < storedBelow; {
			case stored && (len(z) < len(body) || len(z) > len(body)+32):
				t.Errorf("%s, %d bytes: %d bytes encoded, want it stored", enc, len(body), len(z))
			case !stored && len(z) >= len(body)/2:
				t.Errorf("%s, %d bytes: %d bytes encoded, want it compressed", enc, len(body), len(z))
			}
		}
	}
}

// smallAnswer is an infer answer of the sentences workload: one sentence's
// logits, label and probabilities.
var smallAnswer = []byte(`{"model_name":"sentiment","model_version":"1","outputs":[{"name":"logits","datatype":"FP32","shape":[1,2],"data":[-1.2345678,1.3456789]},{"name":"label","datatype":"BYTES","shape":[1],"data":["positive"]},{"name":"probabilities","datatype":"FP32","shape":[1,2],"data":[0.07012345,0.92987655]}]}`)

// BenchmarkCompressSmallAnswer is what Accept-Encoding: gzip (Go's and
// Python's clients send it on every request) costs one small answer.
func BenchmarkCompressSmallAnswer(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Compress("gzip", smallAnswer); err != nil {
			b.Fatal(err)
		}
	}
}
