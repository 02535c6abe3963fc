package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func newORTCPU(labels []string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "ort_cpu_seconds_total",
		Help: "CPU time of the threads that called ONNX Runtime runs, measured around each run " +
			"(all of a run's CPU with one intra-op thread; without the pool threads' share with more).",
	}, labels)
}

// ORTCPU returns the function that adds one run's CPU time to a model
// version's modelgate_sidecar_ort_cpu_seconds_total.
func (m *Metrics) ORTCPU(model, version string) func(time.Duration) {
	c := m.ortCPU.WithLabelValues(model, version)
	return func(d time.Duration) { c.Add(d.Seconds()) }
}
