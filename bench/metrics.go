package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The sidecar metrics a point reads (summed over the model's versions).
var sidecarSeries = []string{
	"request_duration_seconds_sum", "request_duration_seconds_count",
	"queue_duration_seconds_sum", "queue_duration_seconds_count",
	"compute_duration_seconds_sum", "compute_duration_seconds_count",
	"batch_size_sum", "batch_size_count",
	"ort_cpu_seconds_total",
}

// SidecarProbe returns a function reading a sidecar's cumulative request,
// queue and compute times and batch sizes for model from its /metrics at
// url (the sidecar's --metrics-addr). A failed scrape reads nil.
func SidecarProbe(url, model string) func() map[string]float64 {
	client := &http.Client{Timeout: 2 * time.Second}
	return func() map[string]float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		out := map[string]float64{}
		label := fmt.Sprintf(`model=%q`, model)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			name, rest, ok := strings.Cut(sc.Text(), "{")
			series, found := strings.CutPrefix(name, "modelgate_sidecar_")
			if !ok || !found || !strings.Contains(rest, label) {
				continue
			}
			_, value, _ := strings.Cut(rest, "} ")
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err == nil {
				out[series] += v
			}
		}
		return out
	}
}

// ServerTimes is the sidecar's own view of a point, from its metrics: mean
// time from receiving a request to answering it, of that the mean wait in
// the batcher's queue, the mean ONNX Runtime run (per batch), and the mean
// batch size. The client's mean latency minus RequestMicros is what the
// socket, gRPC and the client cost.
type ServerTimes struct {
	RequestMicros float64 `json:"request_mean_us"`
	QueueMicros   float64 `json:"queue_mean_us"`
	ComputeMicros float64 `json:"compute_mean_us_per_batch"`
	MeanBatch     float64 `json:"mean_batch"`
	// ORTCPUMicros is the CPU per request the sidecar spent inside ONNX
	// Runtime runs, as it measures itself (modelgate_sidecar_ort_cpu_seconds_total);
	// 0 when the sidecar does not export it.
	ORTCPUMicros float64 `json:"ort_cpu_us_per_request"`
}

func serverTimes(c map[string]float64) *ServerTimes {
	mean := func(series string, scale float64) float64 {
		if n := c[series+"_count"]; n > 0 {
			return scale * c[series+"_sum"] / n
		}
		return 0
	}
	if c["request_duration_seconds_count"] == 0 {
		return nil
	}
	return &ServerTimes{
		RequestMicros: mean("request_duration_seconds", 1e6),
		QueueMicros:   mean("queue_duration_seconds", 1e6),
		ComputeMicros: mean("compute_duration_seconds", 1e6),
		MeanBatch:     mean("batch_size", 1),
		ORTCPUMicros:  1e6 * c["ort_cpu_seconds_total"] / c["request_duration_seconds_count"],
	}
}
