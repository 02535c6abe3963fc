package core

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/apis"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// TestRequestOrder: the body is read only after authentication, shapes are
// checked against the body before any sidecar call or quota, and the quota
// is taken before the data is decoded.
func TestRequestOrder(t *testing.T) {
	g := startGateway(t, adderConfig(t))
	read := 0
	lazy := func(key, path, body string) protocol.Response {
		h := http.Header{"Content-Type": {"application/json"}}
		if key != "" {
			h.Set("Apikey", key)
		}
		return g.Handle(context.Background(), apis.Router, protocol.Request{Method: "POST", Path: path, Header: h,
			ReadBody: func() ([]byte, error) { read++; return []byte(body), nil }})
	}

	if res := lazy("", "/v2/models/adder/infer", adderBody); res.Status != http.StatusUnauthorized || read != 0 {
		t.Errorf("no credential: %d, body read %d times", res.Status, read)
	}
	if res := lazy("mg_test_nobody_0123456789", "/v2/models/adder/infer", adderBody); res.Status != http.StatusUnauthorized || read != 0 {
		t.Errorf("wrong key: %d, body read %d times", res.Status, read)
	}
	if res := lazy(keyBob, "/v2/models/adder/versions/1/infer", adderBody); res.Status != http.StatusOK || read != 1 {
		t.Errorf("valid key: %d %s, body read %d times", res.Status, res.Body, read)
	}

	res := g.Handle(context.Background(), apis.Router, protocol.Request{Method: "POST", Path: "/v2/models/adder/infer",
		Header:   http.Header{"Apikey": {keyBob}},
		ReadBody: func() ([]byte, error) { return nil, errors.New("body over the buffer") }})
	if res.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("unreadable body: %d %s", res.Status, res.Body)
	}

	// A shape the body cannot hold: refused before the model is looked up
	// and before quota (no quota headers), whatever the model.
	huge := `{"inputs":[{"name":"x","shape":[16777216],"datatype":"BYTES","data":[""]}]}`
	for _, path := range []string{"/v2/models/nope/infer", "/v2/models/adder/infer"} {
		res := call(g, "POST", path, keyBob, huge)
		if res.Status != http.StatusBadRequest || header(res.Header, "X-RateLimit-Limit-Day") != "" {
			t.Errorf("%s, declared 16M elements: %d %v %s", path, res.Status, res.Header, res.Body)
		}
	}
	// More instances than the model batches: refused before quota too.
	nine := `{"instances":[1,2,3,4,5,6,7,8,9]}`
	if res := call(g, "POST", "/v1/models/adder/versions/1:predict", keyBob, nine); res.Status != http.StatusBadRequest ||
		header(res.Header, "X-RateLimit-Limit-Day") != "" {
		t.Errorf("nine instances for a batch of 8: %d %v %s", res.Status, res.Header, res.Body)
	}
	// The same through the Open Inference Protocol: a batch of 9 rows.
	rows := strings.Repeat("1,2,3,4,", 9)
	nineRows := `{"inputs":[{"name":"a","datatype":"FP32","shape":[9,4],"data":[` + rows[:len(rows)-1] + `]},` +
		`{"name":"b","datatype":"FP32","shape":[9,4],"data":[` + rows[:len(rows)-1] + `]}]}`
	if res := call(g, "POST", "/v2/models/adder/versions/1/infer", keyBob, nineRows); res.Status != http.StatusBadRequest ||
		header(res.Header, "X-RateLimit-Limit-Day") != "" || !strings.Contains(string(res.Body), "max_batch_size") {
		t.Errorf("a batch of 9 rows for a batch of 8: %d %v %s", res.Status, res.Header, res.Body)
	}
	// Data that fits its shape's size but does not parse: the quota was
	// taken first, so the 400 carries its headers.
	bad := strings.Replace(adderBody, "[1,2,3,4]", `[1,2,3,"x"]`, 1)
	if res := call(g, "POST", "/v2/models/adder/versions/1/infer", keyBob, bad); res.Status != http.StatusBadRequest ||
		header(res.Header, "X-RateLimit-Limit-Day") == "" {
		t.Errorf("bad data: %d %v %s", res.Status, res.Header, res.Body)
	}
}
