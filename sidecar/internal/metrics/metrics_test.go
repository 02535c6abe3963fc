package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type readiness bool

func (r *readiness) Ready() bool { return bool(*r) }

func TestHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.Request("adder", "1", OutcomeOK, time.Millisecond)
	m.Request("", "", OutcomeNotFound, time.Millisecond)
	m.Observer("adder", "1").Observe(4, time.Millisecond, 2*time.Millisecond)
	m.SetLoaded("adder", 2)
	m.LoadFailed("adder")
	done := m.Started()

	ready := readiness(false)
	srv := httptest.NewServer(Handler(reg, &ready))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get("/v2/health/live"); code != 200 {
		t.Errorf("live: %d", code)
	}
	if code, _ := get("/v2/health/ready"); code != 503 {
		t.Errorf("ready while not ready: %d", code)
	}
	ready = true
	if code, _ := get("/v2/health/ready"); code != 200 {
		t.Errorf("ready: %d", code)
	}
	_, body := get("/metrics")
	for _, want := range []string{
		`modelgate_sidecar_requests_total{model="adder",outcome="ok",version="1"} 1`,
		`modelgate_sidecar_requests_total{model="",outcome="not_found",version=""} 1`,
		`modelgate_sidecar_batch_size_sum{model="adder",version="1"} 4`,
		`modelgate_sidecar_queue_duration_seconds_count{model="adder",version="1"} 1`,
		`modelgate_sidecar_compute_duration_seconds_sum{model="adder",version="1"} 0.002`,
		`modelgate_sidecar_request_duration_seconds_count{model="adder",version="1"} 1`,
		`modelgate_sidecar_loaded_versions{model="adder"} 2`,
		`modelgate_sidecar_load_failures_total{model="adder"} 1`,
		`modelgate_sidecar_inflight_requests 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	done()
	m.Forget("adder", "1")
	_, body = get("/metrics")
	if strings.Contains(body, `version="1"`) || !strings.Contains(body, "modelgate_sidecar_inflight_requests 0") {
		t.Errorf("after Forget and done:\n%s", body)
	}
}
