package serve

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelgate/modelgate/bench"
	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/core"
)

// textBody is one sentence of the bench's sentences workload, sent as
// bench.TextInferBodies sends it.
const textBody = `{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["a wonderful film with a moving story and great acting"]}]}`

// BenchmarkServeText is one text request of the sentences workload through
// serve's real handler over HTTP with keep-alive (the bench's kong.yml:
// API key, every quota window, policy local) and a real launched sidecar
// tokenizing it for the text_sentiment test model. The client's cost is in
// it too; the profile separates them.
func BenchmarkServeText(b *testing.B) {
	srv, key := startServeB(b)
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	do := func() {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v2/models/text_sentiment/infer", bytes.NewReader([]byte(textBody)))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Apikey", key)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK || !bytes.Contains(out, []byte(`"positive"`)) {
			b.Fatalf("%d %s %v", res.StatusCode, out, err)
		}
	}
	do()
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(32) // 64 clients on 2 cores, as the bench's busiest point
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			do()
		}
	})
}

// startServeB serves the bench's kong.yml for the test model repository
// with serve's handler, once the sidecar is ready; it returns the server
// and the consumer's API key.
func startServeB(b *testing.B) (*httptest.Server, string) {
	b.Helper()
	dir := b.TempDir()
	key, digest := bench.NewAPIKey()
	path := filepath.Join(dir, "kong.yml")
	err := bench.WriteKongYAML(path, bench.GatewayConfig{
		Sidecar: map[string]any{"mode": "launch", "command": testutil.Binary(b, "modelgate-sidecar"),
			"args": []string{"--models", testutil.TestModels(), "--ort-lib", testutil.ORTLib(b), "--log-level", "warn"}},
		APIKeySHA256: digest,
	})
	if err != nil {
		b.Fatal(err)
	}
	f, plugins, err := load(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(core.Shutdown)
	rt, err := provision(path, f, plugins, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	if err := waitReady(context.Background(), plugins, 2*time.Minute); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(handler{router: rt, bodyTimeout: time.Minute})
	b.Cleanup(srv.Close)
	return srv, key
}
