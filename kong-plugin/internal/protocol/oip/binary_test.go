package oip

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/oiptest"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/shared/tensor"
)

// checkBinary runs a body with its headers through the codec's Check.
func checkBinary(h http.Header, body []byte) *protocol.Error {
	c := &codec{header: h, body: body, answerHeaderLen: -1}
	if err := c.Admit(1 << 20); err != nil {
		return err
	}
	_, err := c.Check(1 << 20)
	return err
}

// TestBinaryDataSizesAgainstTheBody: every size a client declares is
// checked against the bytes present, each a 400 that says which.
func TestBinaryDataSizesAgainstTheBody(t *testing.T) {
	head := func(s string) (http.Header, []byte) {
		h := http.Header{"Content-Type": {"application/octet-stream"}, "Inference-Header-Content-Length": {strconv.Itoa(len(s))}}
		return h, []byte(s)
	}
	in := func(dt, shape, size string) string {
		return `{"inputs":[{"name":"x","datatype":"` + dt + `","shape":` + shape + `,"parameters":{"binary_data_size":` + size + `}}]}`
	}
	tests := []struct {
		name, json string
		bin        []byte
		header     string // overrides Inference-Header-Content-Length
		want       string
	}{
		{"header past the body", in("FP32", "[1]", "4"), nil, "99999", "the body has"},
		{"header not a number", in("FP32", "[1]", "4"), nil, "-1", "not a byte count"},
		{"size past the body", in("FP32", "[1]", "4"), []byte{1, 2}, "", "2 bytes of binary data are left"},
		{"huge size", in("FP32", "[1]", "9223372036854775807"), []byte{1, 2, 3, 4}, "", "are left"},
		{"negative size", in("FP32", "[1]", "-4"), []byte{1, 2, 3, 4}, "", "must not be negative"},
		{"size not the shape's", in("FP32", "[2]", "4"), []byte{1, 2, 3, 4}, "", "needs 8 bytes"},
		{"huge shape", in("INT64", "[4611686018427387904,4]", "8"), make([]byte, 8), "", "elements"},
		{"bytes left over", in("FP32", "[1]", "4"), make([]byte, 5), "", "1 bytes of binary data follow"},
		{"BYTES length past the data", in("BYTES", "[1]", "8"), oiptest.LE(uint32(1<<31), uint32(0)), "", "BYTES element 0"},
		{"BYTES count not the shape's", in("BYTES", "[3]", "10"), oiptest.BytesElements("a", "b"), "", "needs 3 BYTES elements"},
		{"data and binary", `{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1],"parameters":{"binary_data_size":4}}]}`,
			make([]byte, 4), "", "both given"},
		{"binary without the header", in("FP32", "[1]", "4"), nil, "none", "0 bytes of binary data are left"},
	}
	for _, tt := range tests {
		h, body := head(tt.json)
		body = append(body, tt.bin...)
		switch tt.header {
		case "":
		case "none":
			h.Del("Inference-Header-Content-Length")
			h.Set("Content-Type", "application/json")
		default:
			h.Set("Inference-Header-Content-Length", tt.header)
		}
		err := checkBinary(h, body)
		if err == nil || err.Kind != protocol.KindBadRequest || !strings.Contains(err.Message, tt.want) {
			t.Errorf("%s: got %v, want a 400 with %q", tt.name, err, tt.want)
		}
	}
}

// TestBinaryInputsAliasTheBody: binary data goes to the sidecar as sent,
// nothing decoded or copied.
func TestBinaryInputsAliasTheBody(t *testing.T) {
	body, h, err := oiptest.Request{Inputs: []oiptest.Input{
		{Name: "s", Datatype: "BYTES", Shape: []int64{2}, Raw: oiptest.BytesElements("ab", ""), Binary: true},
		{Name: "j", Datatype: "INT32", Shape: []int64{1}, JSONData: []int{7}},
		{Name: "f", Datatype: "FP16", Shape: []int64{1}, Raw: oiptest.LE(tensor.Float32ToHalf(1.5)), Binary: true},
	}}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	c := &codec{header: h, body: body, answerHeaderLen: -1}
	if _, err := c.Check(1 << 20); err != nil {
		t.Fatal(err)
	}
	req, derr := c.checked.decode()
	if derr != nil {
		t.Fatal(derr)
	}
	if string(req.Inputs[0].Raw) != string(oiptest.BytesElements("ab", "")) || &req.Inputs[0].Raw[0] != &body[len(body)-12] {
		t.Errorf("BYTES input %x does not alias the body", req.Inputs[0].Raw)
	}
	if string(req.Inputs[1].Raw) != string(oiptest.LE(int32(7))) || string(req.Inputs[2].Raw) != string(oiptest.LE(tensor.Float32ToHalf(1.5))) {
		t.Errorf("inputs %x %x", req.Inputs[1].Raw, req.Inputs[2].Raw)
	}
}
