package core

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/apis"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/kong-plugin/internal/quota"
)

// TestRedisDown: with the redis policy, a Redis that is down lets traffic
// through (fault_tolerant) or answers 503 + Retry-After, and counts the
// failure either way.
func TestRedisDown(t *testing.T) {
	redis := testutil.StartRedis(t)
	for _, tolerant := range []bool{true, false} {
		cfg := adderConfig(t)
		cfg.Quotas = quota.Config{Policy: "redis", FaultTolerant: tolerant, Redis: quota.Redis{Addr: redis.Addr, Timeout: "100ms"},
			Tiers: cfg.Quotas.Tiers}
		g := startGateway(t, cfg)
		if res := call(g, "POST", "/v2/models/adder/versions/1/infer", keyBob, adderBody); res.Status != http.StatusOK ||
			header(res.Header, "X-RateLimit-Limit-Day") == "" {
			t.Fatalf("tolerant=%v, Redis up: %d %v %s", tolerant, res.Status, res.Header, res.Body)
		}
		redis.Stop()
		errs := value(g.metrics.redisErrors)
		res := call(g, "POST", "/v2/models/adder/versions/1/infer", keyBob, adderBody)
		want := http.StatusOK
		if !tolerant {
			want = http.StatusServiceUnavailable
		}
		if res.Status != want || (!tolerant && res.Header.Get("Retry-After") == "") {
			t.Errorf("tolerant=%v, Redis down: %d %v %s, want %d", tolerant, res.Status, res.Header, res.Body, want)
		}
		if value(g.metrics.redisErrors) <= errs {
			t.Errorf("tolerant=%v: redis_errors_total did not grow", tolerant)
		}
		redis.Start(t)
	}
}

// TestMetricsEndpoint serves the Prometheus metrics on metrics.addr, with
// no consumer names unless consumer_labels is on.
func TestMetricsEndpoint(t *testing.T) {
	cfg := adderConfig(t)
	addr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	cfg.Metrics.Addr = addr
	g := startGateway(t, cfg)
	call(g, "POST", "/v2/models/adder/versions/1/infer", keyBob, adderBody)
	call(g, "POST", "/v2/models/adder/infer", "wrong", adderBody)
	call(g, "POST", "/v2/models/adder/versions/client-made-up/infer", keyBob, adderBody)
	call(g, "POST", "/v2/models/made-up-model/infer", keyBob, adderBody)
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`modelgate_requests_total{model="adder",status="200",version="1"}`,
		`modelgate_auth_failures_total{reason="invalid_key"}`,
		`modelgate_sidecar_request_duration_seconds_bucket{code="OK",method="ModelInfer"`,
		`modelgate_sidecar_up 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(body), "made-up") {
		t.Error("a name from a client's URL became a label value")
	}
	if strings.Contains(string(body), "bob") {
		t.Error("a consumer name is in the metrics without consumer_labels")
	}
}

// TestDeadline: a request whose deadline has passed is a 504, whatever
// step it was in.
func TestDeadline(t *testing.T) {
	g := startGateway(t, adderConfig(t))
	h := http.Header{"Apikey": {keyBob}}
	res := g.Handle(context.Background(), apis.Router, protocol.Request{Method: "POST", Path: "/v2/models/adder/versions/1/infer",
		Header: h, Body: []byte(adderBody), Deadline: time.Now().Add(-time.Second)})
	if res.Status != http.StatusGatewayTimeout || !strings.Contains(string(res.Body), `"error"`) {
		t.Errorf("%d %s", res.Status, res.Body)
	}
}
