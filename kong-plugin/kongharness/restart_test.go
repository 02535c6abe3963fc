package kongharness_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// TestQuotaSurvivesInstanceRestart: Kong closes and restarts plugin
// instances (config reloads, every 60 s of idleness in go-pdk); a consumer's
// quota must keep counting down across that, not start afresh. It also
// checks, under Kong, that the infer body's parameters.timeout is the
// request's deadline.
func TestQuotaSurvivesInstanceRestart(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, kongharness.Options{})
	consumers := map[string]kongharness.Consumer{"demo": {ID: "c0ffee", Username: "demo"}}
	hdr := http.Header{"Apikey": {apiKey}, "Content-Type": {"application/json"}}
	const body = `{"inputs":[{"name":"a","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]},
	  {"name":"b","datatype":"FP32","shape":[1,4],"data":[10,20,30,40]}]}`
	infer := func(id int32, body string) *kongharness.Response {
		t.Helper()
		res, err := srv.Access(ctx, id, kongharness.Request{Method: "POST", Path: "/v2/models/adder/infer",
			Header: hdr, Body: []byte(body), Consumers: consumers})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// The day window: a second or minute window could roll over mid-test.
	remaining := func(res *kongharness.Response) int {
		t.Helper()
		for k, v := range res.Header {
			if strings.EqualFold(k, "X-RateLimit-Remaining-Day") && len(v) > 0 {
				n, err := strconv.Atoi(v[0])
				if err != nil {
					t.Fatalf("X-RateLimit-Remaining-Day %q", v[0])
				}
				return n
			}
		}
		t.Fatalf("no X-RateLimit-Remaining-Day: %d %v %s", res.Status, res.Header, res.Body)
		return 0
	}

	inst, err := srv.StartInstance(ctx, "modelgate", pluginConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, srv, inst.ID)
	var counts []int
	for range 3 {
		res := infer(inst.ID, body)
		if res.Status != http.StatusOK {
			t.Fatalf("first instance: %d %s", res.Status, res.Body)
		}
		counts = append(counts, remaining(res))
	}
	if err := srv.CloseInstance(ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
	inst2, err := srv.StartInstance(ctx, "modelgate", pluginConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		res := infer(inst2.ID, body)
		if res.Status != http.StatusOK {
			t.Fatalf("restarted instance: %d %s", res.Status, res.Body)
		}
		counts = append(counts, remaining(res))
	}
	for i := 1; i < len(counts); i++ {
		if counts[i] != counts[i-1]-1 {
			t.Fatalf("X-RateLimit-Remaining-Day across a restart of the instance after the third: %v; want one less each time", counts)
		}
	}

	// 1 µs is over before the model runs: 504, as Triton answers.
	res := infer(inst2.ID, strings.Replace(body, `{"inputs"`, `{"parameters":{"timeout":1},"inputs"`, 1))
	if res.Status != http.StatusGatewayTimeout || !strings.Contains(string(res.Body), `"error"`) {
		t.Errorf("parameters.timeout 1µs under Kong: %d %s", res.Status, res.Body)
	}
}
