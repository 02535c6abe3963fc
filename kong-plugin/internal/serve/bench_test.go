package serve

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelgate/modelgate/bench"
	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/core"
)

// BenchmarkServeText is one text request of the sentences workload through
// serve's real handler over HTTP with keep-alive (the bench's kong.yml:
// API key, every quota window, policy local) and a real launched sidecar
// tokenizing it for the text_sentiment test model, from 64 clients. Beside
// the time it reports the CPU per request of this process (the handler and
// the HTTP client: the profile separates them) and of the sidecar, from
// /proc.
func BenchmarkServeText(b *testing.B) { benchServeText(b, 64) }

// BenchmarkServeText1 is the same from one client: its ns/op is the
// latency of one request with nothing else in flight.
func BenchmarkServeText1(b *testing.B) { benchServeText(b, 1) }

func benchServeText(b *testing.B, clients int) {
	srv, key := startServeB(b)
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	body := textBody()
	do := func() {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v2/models/text_sentiment/infer", bytes.NewReader(body))
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
	procs := []int{os.Getpid(), bench.ChildPid(os.Getpid(), "modelgate-sidecar")}
	cpu0 := cpuTimes(b, procs)
	b.ReportAllocs()
	b.ResetTimer()
	testutil.RunClients(b, clients, do)
	b.StopTimer()
	cpu1 := cpuTimes(b, procs)
	b.ReportMetric(float64((cpu1[0]-cpu0[0]).Microseconds())/float64(b.N), "process-cpu-µs/op")
	b.ReportMetric(float64((cpu1[1]-cpu0[1]).Microseconds())/float64(b.N), "sidecar-cpu-µs/op")
}

// cpuTimes is the CPU time each of pids has used.
func cpuTimes(b *testing.B, pids []int) []time.Duration {
	out := make([]time.Duration, len(pids))
	for i, pid := range pids {
		d, err := bench.CPUTime(pid)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = d
	}
	return out
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

// textBody is the sentence as the bench sends it to the sentences
// workload's text input.
func textBody() []byte {
	return bench.TextInferBodies("text", []string{"a wonderful film with a moving story and great acting"})[0]
}
