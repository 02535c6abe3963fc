package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/shared/tensor"
)

// allocatedPerRun is the average of the bytes fn allocates (TotalAlloc
// counts every allocation, freed or not), over runs calls.
func allocatedPerRun(runs int, fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < runs; i++ {
		fn()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// TestDeclaredShapeAllocatesForBytesPresent: a 90-byte body that declares
// 16M elements is refused without allocating for them (issue 12, item 1:
// before, BYTES reserved 384 MiB and INT64/FP64 128 MiB per request).
func TestDeclaredShapeAllocatesForBytesPresent(t *testing.T) {
	const declared = 1 << 24
	for _, tt := range []struct {
		dt   tensor.DataType
		data string
	}{
		{tensor.Bytes, `[""]`}, {tensor.Int64, `[1]`}, {tensor.FP64, `[1]`}, {tensor.Bool, `[true,true]`},
	} {
		body := []byte(fmt.Sprintf(`{"inputs":[{"name":"x","shape":[%d],"datatype":"%s","data":%s}]}`, declared, tt.dt, tt.data))
		if len(body) > 100 {
			t.Fatalf("body of %d bytes, want a small one", len(body))
		}
		var gerr *Error
		per := allocatedPerRun(10, func() { _, gerr = decodeInfer(body, declared) })
		if gerr == nil || gerr.Kind != KindBadRequest || !strings.Contains(gerr.Message, "hold at most") {
			t.Errorf("%s: %v, want a 400 saying the data cannot hold the shape", tt.dt, gerr)
		}
		if per > 1<<20 {
			t.Errorf("%s: decoding a %d-byte body allocated %d bytes", tt.dt, len(body), per)
		}
		var err error
		per = allocatedPerRun(10, func() { _, err = parseData(tt.dt, []byte(tt.data), declared) })
		if !errors.Is(err, tensor.ErrShape) || per > 1<<20 {
			t.Errorf("%s: parseData allocated %d bytes, err %v", tt.dt, per, err)
		}
	}
}

// TestCheckDataSizeBounds: the smallest data that can hold a count passes
// the size check, one byte less does not.
func TestCheckDataSizeBounds(t *testing.T) {
	for _, tt := range []struct {
		dt   tensor.DataType
		data string
		n    int64
	}{
		{tensor.FP32, `7`, 1}, {tensor.FP32, `[1,2,3]`, 3}, {tensor.Bytes, `["","",""]`, 3},
		{tensor.Bool, `[true,true]`, 2}, {tensor.Int8, `[[1,2],[3,4]]`, 4},
	} {
		if _, err := parseData(tt.dt, []byte(tt.data), tt.n); err != nil {
			t.Errorf("%s %s as %d elements: %v", tt.dt, tt.data, tt.n, err)
		}
	}
	for _, tt := range []struct {
		dt   tensor.DataType
		data string
		n    int64
	}{
		{tensor.Bytes, `["",""]`, 4}, {tensor.FP32, `[1]`, 3}, {tensor.Bool, `[1]`, 3}, {tensor.Int64, `1`, 2},
	} {
		if err := checkDataSize(tt.dt, []byte(tt.data), tt.n); !errors.Is(err, tensor.ErrShape) {
			t.Errorf("%s %s held %d elements: %v", tt.dt, tt.data, tt.n, err)
		}
	}
}

// TestRequestOrder: the body is read only after authentication, shapes are
// checked against the body before any sidecar call or quota, and the quota
// is taken before the data is decoded.
func TestRequestOrder(t *testing.T) {
	g := startGateway(t, adderConfig(t))
	read := 0
	lazy := func(key, path, body string) Response {
		h := http.Header{"Content-Type": {"application/json"}}
		if key != "" {
			h.Set("Apikey", key)
		}
		return g.Handle(context.Background(), Request{Method: "POST", Path: path, Header: h,
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

	res := g.Handle(context.Background(), Request{Method: "POST", Path: "/v2/models/adder/infer",
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
	// Data that fits its shape's size but does not parse: the quota was
	// taken first, so the 400 carries its headers.
	bad := strings.Replace(adderBody, "[1,2,3,4]", `[1,2,3,"x"]`, 1)
	if res := call(g, "POST", "/v2/models/adder/versions/1/infer", keyBob, bad); res.Status != http.StatusBadRequest ||
		header(res.Header, "X-RateLimit-Limit-Day") == "" {
		t.Errorf("bad data: %d %v %s", res.Status, res.Header, res.Body)
	}
}
