package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestSidecarProbeSumsOneModelsVersions(t *testing.T) {
	page := `# HELP modelgate_sidecar_request_duration_seconds Time from receiving an inference request to answering it.
modelgate_sidecar_request_duration_seconds_bucket{model="m",version="1",le="0.001"} 3
modelgate_sidecar_request_duration_seconds_sum{model="m",version="1"} 0.004
modelgate_sidecar_request_duration_seconds_count{model="m",version="1"} 4
modelgate_sidecar_request_duration_seconds_sum{model="m",version="2"} 0.002
modelgate_sidecar_request_duration_seconds_count{model="m",version="2"} 1
modelgate_sidecar_request_duration_seconds_sum{model="m2",version="1"} 9
modelgate_sidecar_request_duration_seconds_count{model="m2",version="1"} 9
modelgate_sidecar_queue_duration_seconds_sum{model="m",version="1"} 0.001
modelgate_sidecar_queue_duration_seconds_count{model="m",version="1"} 5
modelgate_sidecar_compute_duration_seconds_sum{model="m",version="1"} 0.003
modelgate_sidecar_compute_duration_seconds_count{model="m",version="1"} 2
modelgate_sidecar_batch_size_sum{model="m",version="1"} 5
modelgate_sidecar_batch_size_count{model="m",version="1"} 2
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, page) }))
	defer srv.Close()
	c := SidecarProbe(srv.URL, "m")()
	if c["request_duration_seconds_count"] != 5 || c["request_duration_seconds_sum"] != 0.006 {
		t.Fatalf("counters %v", c)
	}
	s := serverTimes(c)
	if s == nil || s.RequestMicros != 1200 || s.QueueMicros != 200 || s.ComputeMicros != 1500 || s.MeanBatch != 2.5 {
		t.Fatalf("server times %+v", s)
	}
	if serverTimes(map[string]float64{}) != nil {
		t.Fatal("no requests must give no server view")
	}
	srv.Close()
	if got := SidecarProbe(srv.URL, "m")(); got != nil {
		t.Fatalf("scrape of a closed server: %v", got)
	}
}
