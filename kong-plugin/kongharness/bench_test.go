package kongharness_test

import (
	"bytes"
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelgate/modelgate/bench"
	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// BenchmarkKongText is one text request of the bench's sentences workload
// through the real plugin server as Kong drives it (a connection per
// event, a round trip per PDK call) with the bench's plugin config (API
// key, every quota window) and a real launched sidecar. Beside the time it
// reports the PDK calls per request and the plugin server's CPU per
// request (from /proc, so it is the server's own, not this process's).
func BenchmarkKongText(b *testing.B) { benchKongText(b, 1) }

// BenchmarkKongText64 is the same from 64 clients at once, the bench's
// busiest point.
func BenchmarkKongText64(b *testing.B) { benchKongText(b, 64) }

func benchKongText(b *testing.B, clients int) {
	ctx := context.Background()
	testutil.ORTLib(b)
	srv, err := kongharness.Start(ctx, testutil.Binary(b, "modelgate"), kongharness.Options{Env: []string{"KONG_NGINX_MAIN_ENV=ORT_LIB; env MODELGATE_SECRET_DIRS"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	key, digest := bench.NewAPIKey()
	cfg := bench.GatewayConfig{
		Sidecar: map[string]any{"mode": "launch", "command": testutil.Binary(b, "modelgate-sidecar"),
			"args": []string{"--models", testutil.TestModels(), "--ort-lib", testutil.ORTLib(b), "--log-level", "warn"}},
		APIKeySHA256: digest,
	}.PluginConfig()
	inst, err := srv.StartInstance(ctx, "modelgate", cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := bench.WaitKongReady(ctx, srv, inst.ID, 2*time.Minute); err != nil {
		b.Fatal(err)
	}
	req := kongharness.Request{Method: http.MethodPost, Path: "/v2/models/text_sentiment/infer", Body: textBody(), ClientIP: "127.0.0.1",
		Header: http.Header{"Apikey": {key}, "Content-Type": {"application/json"}}}
	var calls atomic.Int64
	do := func() {
		res, err := srv.Access(ctx, inst.ID, req)
		if err != nil {
			b.Fatal(err)
		}
		if !res.Exited || res.Status != http.StatusOK || !bytes.Contains(res.Body, []byte(`"positive"`)) {
			b.Fatalf("%+v %s", res, res.Body)
		}
		calls.Add(int64(len(res.Calls)))
	}
	do()
	calls.Store(0)
	cpu0, err := bench.CPUTime(srv.Pid())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	testutil.RunClients(b, clients, do)
	b.StopTimer()
	cpu1, err := bench.CPUTime(srv.Pid())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(calls.Load())/float64(b.N), "pdk-calls/op")
	b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "server-cpu-µs/op")
}

// textBody is the sentence as the bench sends it to the sentences
// workload's text input.
func textBody() []byte {
	return bench.TextInferBodies("text", []string{"a wonderful film with a moving story and great acting"})[0]
}
