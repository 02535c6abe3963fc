// Package oiptest is a client of Triton's HTTP inference wire format,
// written from Triton's documentation (server docs/protocol/
// extension_binary_data.md and extension_classification.md, r24.x) and
// what the stock tritonclient.http sends (its _utils.py and
// _infer_input.py): the tests drive modelgate with it as a Triton client
// would, independently of the gateway's own decoder.
package oiptest

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
)

// Input is one input tensor: Raw holds its elements little-endian (BYTES:
// each a 4-byte little-endian length and its bytes), sent as binary data
// when Binary is set, else as a JSON `data` array.
type Input struct {
	Name     string
	Datatype string
	Shape    []int64
	Raw      []byte
	JSONData any
	Binary   bool
}

// Output is one requested output: Binary asks for binary data,
// Classification for the top k.
type Output struct {
	Name           string
	Binary         *bool
	Classification int
}

// Request is an inference request in Triton's wire format.
type Request struct {
	ID               string
	Inputs           []Input
	Outputs          []Output
	BinaryDataOutput bool
}

// Encode writes the body and the headers a Triton client sends with it:
// Inference-Header-Content-Length when some input is binary.
func (r Request) Encode() ([]byte, http.Header, error) {
	type param map[string]any
	type in struct {
		Name       string  `json:"name"`
		Shape      []int64 `json:"shape"`
		Datatype   string  `json:"datatype"`
		Data       any     `json:"data,omitempty"`
		Parameters param   `json:"parameters,omitempty"`
	}
	type out struct {
		Name       string `json:"name"`
		Parameters param  `json:"parameters,omitempty"`
	}
	doc := struct {
		ID         string `json:"id,omitempty"`
		Inputs     []in   `json:"inputs"`
		Outputs    []out  `json:"outputs,omitempty"`
		Parameters param  `json:"parameters,omitempty"`
	}{ID: r.ID}
	var bin []byte
	for _, i := range r.Inputs {
		j := in{Name: i.Name, Shape: i.Shape, Datatype: i.Datatype}
		if i.Binary {
			j.Parameters = param{"binary_data_size": len(i.Raw)}
			bin = append(bin, i.Raw...)
		} else {
			j.Data = i.JSONData
		}
		doc.Inputs = append(doc.Inputs, j)
	}
	for _, o := range r.Outputs {
		p := param{}
		if o.Binary != nil {
			p["binary_data"] = *o.Binary
		}
		if o.Classification > 0 {
			p["classification"] = o.Classification
		}
		doc.Outputs = append(doc.Outputs, out{Name: o.Name, Parameters: p})
	}
	if r.BinaryDataOutput {
		doc.Parameters = param{"binary_data_output": true}
	}
	head, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, err
	}
	h := http.Header{}
	if bin == nil {
		h.Set("Content-Type", "application/json")
		return head, h, nil
	}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Inference-Header-Content-Length", strconv.Itoa(len(head)))
	return append(head, bin...), h, nil
}

// Tensor is one output of an answer, its elements little-endian in Raw
// whether they came as binary data or as JSON (numbers only; BYTES from
// JSON come as Strings).
type Tensor struct {
	Name     string
	Datatype string
	Shape    []int64
	Raw      []byte
	JSON     json.RawMessage
	Binary   bool
}

// Strings splits a BYTES tensor's binary elements.
func (t Tensor) Strings() ([]string, error) {
	if !t.Binary {
		var s []string
		err := json.Unmarshal(t.JSON, &s)
		return s, err
	}
	var out []string
	raw := t.Raw
	for len(raw) > 0 {
		if len(raw) < 4 {
			return nil, fmt.Errorf("BYTES: %d bytes left, no length", len(raw))
		}
		n := binary.LittleEndian.Uint32(raw)
		if uint64(n) > uint64(len(raw)-4) {
			return nil, fmt.Errorf("BYTES: element of %d bytes, %d left", n, len(raw)-4)
		}
		out = append(out, string(raw[4:4+n]))
		raw = raw[4+n:]
	}
	return out, nil
}

// Float32s reads an FP32 tensor's binary elements.
func (t Tensor) Float32s() []float32 {
	out := make([]float32, len(t.Raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Raw[4*i:]))
	}
	return out
}

// Response is a decoded answer.
type Response struct {
	ModelName    string
	ModelVersion string
	ID           string
	Outputs      []Tensor
}

// Output is the output named name, or false.
func (r Response) Output(name string) (Tensor, bool) {
	for _, o := range r.Outputs {
		if o.Name == name {
			return o, true
		}
	}
	return Tensor{}, false
}

// Decode reads an answer as the Triton client does: inflated per its
// Content-Encoding, split at its Inference-Header-Content-Length, the
// binary data handed out in the outputs' order.
func Decode(h http.Header, body []byte) (Response, error) {
	body, err := Inflate(h.Get("Content-Encoding"), body)
	if err != nil {
		return Response{}, err
	}
	head, bin := body, []byte(nil)
	if v := h.Get("Inference-Header-Content-Length"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > len(body) {
			return Response{}, fmt.Errorf("Inference-Header-Content-Length %q for a body of %d bytes", v, len(body))
		}
		head, bin = body[:n], body[n:]
	}
	var doc struct {
		ModelName    string `json:"model_name"`
		ModelVersion string `json:"model_version"`
		ID           string `json:"id"`
		Outputs      []struct {
			Name       string          `json:"name"`
			Datatype   string          `json:"datatype"`
			Shape      []int64         `json:"shape"`
			Data       json.RawMessage `json:"data"`
			Parameters struct {
				BinaryDataSize *int `json:"binary_data_size"`
			} `json:"parameters"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(head, &doc); err != nil {
		return Response{}, fmt.Errorf("answer header %q: %w", head, err)
	}
	r := Response{ModelName: doc.ModelName, ModelVersion: doc.ModelVersion, ID: doc.ID}
	for _, o := range doc.Outputs {
		t := Tensor{Name: o.Name, Datatype: o.Datatype, Shape: o.Shape, JSON: o.Data}
		if n := o.Parameters.BinaryDataSize; n != nil {
			if *n < 0 || *n > len(bin) {
				return Response{}, fmt.Errorf("output %s: binary_data_size %d, %d bytes left", o.Name, *n, len(bin))
			}
			t.Raw, t.Binary, bin = bin[:*n], true, bin[*n:]
		}
		r.Outputs = append(r.Outputs, t)
	}
	if len(bin) > 0 {
		return Response{}, fmt.Errorf("%d bytes of binary data left over", len(bin))
	}
	return r, nil
}

// Compress encodes body as Content-Encoding enc ("gzip" or "deflate", the
// zlib format, as Triton's client sends them).
func Compress(enc string, body []byte) []byte {
	var b bytes.Buffer
	var w io.WriteCloser
	if enc == "gzip" {
		w = gzip.NewWriter(&b)
	} else {
		w = zlib.NewWriter(&b)
	}
	w.Write(body)
	w.Close()
	return b.Bytes()
}

// Inflate decodes a body of Content-Encoding enc ("" leaves it as is).
func Inflate(enc string, body []byte) ([]byte, error) {
	var r io.Reader
	var err error
	switch enc {
	case "":
		return body, nil
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(body))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(body))
	default:
		return nil, fmt.Errorf("content encoding %q", enc)
	}
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// LE writes values little-endian, for an input's Raw.
func LE(values ...any) []byte {
	var b bytes.Buffer
	for _, v := range values {
		binary.Write(&b, binary.LittleEndian, v)
	}
	return b.Bytes()
}

// BytesElements packs strings as BYTES elements.
func BytesElements(s ...string) []byte {
	var b []byte
	for _, e := range s {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(e)))
		b = append(b, e...)
	}
	return b
}
