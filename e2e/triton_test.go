package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/oiptest"
	"github.com/modelgate/modelgate/internal/testutil"
)

// TestTritonClientAgainstServe: what tritonclient.http sends by default
// (binary tensors both ways), with classification and gzip both ways,
// over HTTP to `modelgate serve` with the repository's kong.yml.
func TestTritonClientAgainstServe(t *testing.T) {
	s := startServe(t, testutil.RepoRoot(), "kong.yml")
	if status, _, body := s.do(t, "GET", "/v2", nil, ""); status != http.StatusOK ||
		!strings.Contains(string(body), `"extensions":["binary_tensor_data","classification"]`) {
		t.Fatalf("server metadata: %d %s", status, body)
	}
	yes := true
	body, h, err := oiptest.Request{
		Inputs: []oiptest.Input{{Name: "text", Datatype: "BYTES", Shape: []int64{2, 1},
			Raw: oiptest.BytesElements("a wonderful film, I loved every minute of it", "a boring waste of time, I hated it"), Binary: true}},
		Outputs: []oiptest.Output{{Name: "logits", Binary: &yes, Classification: 1}},
	}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	h.Set("apikey", demoKey)
	h.Set("Content-Encoding", "gzip")
	h.Set("Accept-Encoding", "gzip")
	status, rh, answer := s.do(t, "POST", "/v2/models/sentiment/versions/1/infer", h, string(oiptest.Compress("gzip", body)))
	if status != http.StatusOK || rh.Get("Content-Encoding") != "gzip" || rh.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("infer: %d %v %q", status, rh, answer)
	}
	r, err := oiptest.Decode(rh, answer)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := r.Output("logits")
	labels, err := o.Strings()
	if err != nil || len(labels) != 2 || !strings.HasSuffix(labels[0], ":positive") || !strings.HasSuffix(labels[1], ":negative") {
		t.Errorf("top 1 %q: %v (%+v)", labels, err, o)
	}
}
