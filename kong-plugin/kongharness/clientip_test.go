package kongharness_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// TestAnonymousSplitUsesClientIP: in an open gateway the split is sticky per
// client IP under Kong too (kong.client.get_forwarded_ip), as under
// modelgate serve: one client keeps its arm, and clients spread over both.
func TestAnonymousSplitUsesClientIP(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, kongharness.Options{})
	inst, err := srv.StartInstance(ctx, "modelgate", map[string]any{
		"sidecar": sidecarConfig(t),
		"models": []any{map[string]any{
			"name": "adder", "aliases": map[string]string{"stable": "1", "canary": "2"},
			"split": []any{map[string]any{"target": "stable", "weight": 50}, map[string]any{"target": "canary", "weight": 50}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, srv, inst.ID)
	body := []byte(`{"inputs":[{"name":"a","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]},
	  {"name":"b","datatype":"FP32","shape":[1,4],"data":[10,20,30,40]}]}`)
	arms := map[string]int{}
	for i := range 16 {
		ip := fmt.Sprintf("198.51.100.%d", i+1)
		var got []string
		for range 2 {
			res, err := srv.Access(ctx, inst.ID, kongharness.Request{Method: "POST", Path: "/v2/models/adder/infer", Body: body, ClientIP: ip})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != 200 || !slices.Contains(res.Calls, "kong.client.get_forwarded_ip") {
				t.Fatalf("%s: %d %s, PDK calls %v", ip, res.Status, res.Body, res.Calls)
			}
			got = append(got, res.Header.Get("X-Model-Version"))
		}
		if got[0] != got[1] {
			t.Errorf("client %s switched arms: %v", ip, got)
		}
		arms[got[0]]++
	}
	if arms["1"] == 0 || arms["2"] == 0 {
		t.Errorf("16 clients over a 50/50 split: %v; want both arms used", arms)
	}
}
