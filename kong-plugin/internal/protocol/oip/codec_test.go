package oip

import (
	"strings"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/shared/pb"
)

// decodeInfer checks an OIP body and decodes it in one step, as the core
// runs Check and Decode with quota between them.
func decodeInfer(body []byte, maxElements int64) (*pb.ModelInferRequest, *protocol.Error) {
	c, err := checkInfer(body, maxElements)
	if err != nil {
		return nil, err
	}
	return c.decode()
}

func TestDecodeInferAndEncodeBack(t *testing.T) {
	body := `{"id":"r1","inputs":[
	  {"name":"a","datatype":"FP32","shape":[1,2],"data":[1.5,2]},
	  {"name":"s","datatype":"BYTES","shape":[2],"data":["hi","there"]}],
	  "outputs":[{"name":"sum"}]}`
	req, err := decodeInfer([]byte(body), 0)
	if err != nil {
		t.Fatal(err)
	}
	if req.Id != "r1" || len(req.Inputs) != 2 || len(req.Outputs) != 1 || req.Outputs[0] != "sum" {
		t.Fatalf("decoded %+v", req)
	}
	res := &pb.ModelInferResponse{ModelName: "m", ModelVersion: "2", Id: "r1", Outputs: req.Inputs}
	out, err2 := encodeInfer(res)
	if err2 != nil {
		t.Fatal(err2)
	}
	want := `{"model_name":"m","model_version":"2","id":"r1","outputs":[{"name":"a","datatype":"FP32","shape":[1,2],"data":[1.5,2]},{"name":"s","datatype":"BYTES","shape":[2],"data":["hi","there"]}]}`
	if string(out) != want {
		t.Errorf("encoded\n%s\nwant\n%s", out, want)
	}
}

func TestDecodeInferRejects(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{`, "malformed JSON"},
		{`[]`, "malformed JSON"},
		{`{"inputs":[]}`, "no inputs"},
		{`{"inputs":[{"name":"a","datatype":"FP32","shape":[2],"data":[1]}]}`, "needs 2 elements"},
		{`{"inputs":[{"name":"a","datatype":"FP99","shape":[1],"data":[1]}]}`, "unknown datatype"},
		{`{"inputs":[{"name":"a","datatype":"FP32","shape":[-1],"data":[1]}]}`, "dimension 0 is -1"},
		{`{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1]},{"name":"a","datatype":"FP32","shape":[1],"data":[1]}]}`, "twice"},
		{`{"inputs":[{"name":"a","datatype":"FP32","data":[1]}]}`, "shape is required"},
		{`{"inputs":[{"name":"a","datatype":"FP32","shape":[1]}]}`, "data is required"},
		{`{"inputs":[{"datatype":"FP32","shape":[1],"data":[1]}]}`, "name is required"},
		{`{"inputs":[{"name":"a","datatype":"FP32","shape":["x"],"data":[1]}]}`, "malformed JSON"},
		{`{"inputs":[{"name":"a","datatype":"FP32","shape":[100000,100000],"data":[1]}]}`, "more than"},
	}
	for _, tt := range tests {
		_, err := decodeInfer([]byte(tt.body), 1<<24)
		if err == nil || err.Kind != protocol.KindBadRequest || !strings.Contains(err.Message, tt.want) {
			t.Errorf("%s: %v, want a 400 containing %q", tt.body, err, tt.want)
		}
	}
}
