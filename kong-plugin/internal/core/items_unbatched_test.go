package core

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
	"github.com/modelgate/modelgate/kong-plugin/internal/quota"
)

// TestItemsOfAnUnbatchedModel: a model without batching (max_batch_size 0)
// counts a request's items by how many times its inputs hold the model's
// fixed part, so a large request is not one item (issue 12, item 10).
func TestItemsOfAnUnbatchedModel(t *testing.T) {
	models := t.TempDir()
	src := filepath.Join(testutil.TestModels(), "adder", "1")
	dir := filepath.Join(models, "adder_unbatched", "1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model.onnx", "model.onnx.sha256"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The adder's graph takes [rows, 4]: without batching the rows are a
	// variable dimension of the model's own shape.
	if err := os.WriteFile(filepath.Join(models, "adder_unbatched", "config.yaml"), []byte(`platform: onnxruntime_onnx
max_batch_size: 0
inputs:
  - {name: a, datatype: FP32, dims: [-1, 4]}
  - {name: b, datatype: FP32, dims: [-1, 4]}
outputs:
  - {name: sum, datatype: FP32, dims: [-1, 4]}
  - {name: diff, datatype: FP32, dims: [-1, 4]}
instance_group:
  count: 1
  execution_providers: [cpu]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	const keyDave = "mg_test_dave_unbatched_0123456789"
	cfg := adderConfig(t)
	cfg.Sidecar.Args = []string{"--models", models, "--ort-lib", testutil.ORTLib(t), "--log-level", "warn"}
	cfg.Auth.Consumers = append(cfg.Auth.Consumers, auth.Consumer{Name: "dave-unbatched", Tier: "items", KeySHA256: []string{digest(keyDave)}})
	cfg.Quotas.Tiers = append(cfg.Quotas.Tiers, quota.Tier{Name: "items", ItemsPerDay: 1000})
	cfg.Models = nil
	g := startGateway(t, cfg)

	remaining := func(rows int) int {
		t.Helper()
		a, b := "", ""
		for i := range rows {
			if i > 0 {
				a, b = a+",", b+","
			}
			a += "[1,2,3,4]"
			b += "[10,20,30,40]"
		}
		body := `{"inputs":[{"name":"a","datatype":"FP32","shape":[` + strconv.Itoa(rows) + `,4],"data":[` + a + `]},` +
			`{"name":"b","datatype":"FP32","shape":[` + strconv.Itoa(rows) + `,4],"data":[` + b + `]}]}`
		res := call(g, "POST", "/v2/models/adder_unbatched/infer", keyDave, body)
		if res.Status != http.StatusOK {
			t.Fatalf("%d rows: %d %s", rows, res.Status, res.Body)
		}
		n, err := strconv.Atoi(header(res.Header, "X-RateLimit-Remaining-Items-Day"))
		if err != nil {
			t.Fatalf("%d rows: no items header in %v", rows, res.Header)
		}
		return n
	}
	first := remaining(1)
	if got := remaining(5); got != first-5 {
		t.Errorf("5 rows took %d items, want 5", first-got)
	}
	if got := remaining(1); got != first-6 {
		t.Errorf("1 row after 5 left %d items, want %d", got, first-6)
	}

	// :predict's one instance of an unbatched model counts the same way.
	res := call(g, "POST", "/v1/models/adder_unbatched:predict", keyDave,
		`{"instances":[{"a":[[1,2,3,4],[1,2,3,4],[1,2,3,4]],"b":[[10,20,30,40],[10,20,30,40],[10,20,30,40]]}]}`)
	if res.Status != http.StatusOK {
		t.Fatalf(":predict: %d %s", res.Status, res.Body)
	}
	if got := header(res.Header, "X-RateLimit-Remaining-Items-Day"); got != strconv.Itoa(first-9) {
		t.Errorf(":predict with 3 rows left %s items, want %d", got, first-9)
	}
}
