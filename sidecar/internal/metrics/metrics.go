// Package metrics defines the sidecar's Prometheus metrics (namespace
// modelgate_sidecar) and the HTTP endpoint that serves them with the
// health checks.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every metric name.
const Namespace = "modelgate_sidecar"

// Outcomes of a request, the values of the outcome label.
const (
	OutcomeOK          = "ok"
	OutcomeInvalid     = "invalid"
	OutcomeNotFound    = "not_found"
	OutcomeUnavailable = "unavailable"
	OutcomeQueueFull   = "queue_full"
	OutcomeTimeout     = "timeout"
	OutcomeCanceled    = "canceled"
	OutcomeError       = "error"
)

// Metrics holds the sidecar's collectors. Labels are bounded: model and
// version names come from the repository, never from a request that named
// an unknown model.
type Metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	queue        *prometheus.HistogramVec
	compute      *prometheus.HistogramVec
	batchSize    *prometheus.HistogramVec
	ortCPU       *prometheus.CounterVec
	loaded       *prometheus.GaugeVec
	loadFailures *prometheus.CounterVec
	inflight     prometheus.Gauge
}

// New creates the collectors and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	mv := []string{"model", "version"}
	latency := prometheus.ExponentialBuckets(0.0001, 2, 16) // 100µs .. ~3.3s
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "requests_total",
			Help: "Inference requests by model, version and outcome (ok, invalid, not_found, unavailable, queue_full, timeout, canceled, error).",
		}, []string{"model", "version", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "request_duration_seconds",
			Help: "Time from receiving an inference request to answering it.", Buckets: latency,
		}, mv),
		queue: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "queue_duration_seconds",
			Help: "Time a request waited in the batcher's queue.", Buckets: latency,
		}, mv),
		compute: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "compute_duration_seconds",
			Help: "Time of one ONNX Runtime run (one batch).", Buckets: latency,
		}, mv),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "batch_size",
			Help: "Items per ONNX Runtime run.", Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}, mv),
		ortCPU: newORTCPU(mv),
		loaded: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "loaded_versions",
			Help: "Model versions ready to serve.",
		}, []string{"model"}),
		loadFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "load_failures_total",
			Help: "Model version loads that failed (the previous version, if any, kept serving).",
		}, []string{"model"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "inflight_requests",
			Help: "Inference requests received and not yet answered.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.queue, m.compute, m.batchSize, m.ortCPU, m.loaded, m.loadFailures, m.inflight)
	return m
}

// Request counts one answered inference request and its duration. Pass
// empty model and version for a request that named no known model.
func (m *Metrics) Request(model, version, outcome string, d time.Duration) {
	m.requests.WithLabelValues(model, version, outcome).Inc()
	if model != "" {
		m.duration.WithLabelValues(model, version).Observe(d.Seconds())
	}
}

// Started counts a request in flight until the returned func is called.
func (m *Metrics) Started() (done func()) {
	m.inflight.Inc()
	return m.inflight.Dec
}

// SetLoaded sets the number of ready versions of model.
func (m *Metrics) SetLoaded(model string, n int) {
	m.loaded.WithLabelValues(model).Set(float64(n))
}

// LoadFailed counts a failed version load of model.
func (m *Metrics) LoadFailed(model string) {
	m.loadFailures.WithLabelValues(model).Inc()
}

// Forget drops the per-version series of a version that was unloaded.
func (m *Metrics) Forget(model, version string) {
	labels := prometheus.Labels{"model": model, "version": version}
	m.requests.DeletePartialMatch(labels)
	m.duration.Delete(labels)
	m.queue.Delete(labels)
	m.compute.Delete(labels)
	m.batchSize.Delete(labels)
	m.ortCPU.Delete(labels)
}

// BatchObserver records one model version's batches; it satisfies the
// batcher's Observer interface.
type BatchObserver struct {
	queue, compute, size prometheus.Observer
}

// Observer returns the batch observer of one model version.
func (m *Metrics) Observer(model, version string) *BatchObserver {
	return &BatchObserver{
		queue:   m.queue.WithLabelValues(model, version),
		compute: m.compute.WithLabelValues(model, version),
		size:    m.batchSize.WithLabelValues(model, version),
	}
}

// Observe records one batch: its size, the queue wait (of its oldest
// request, as the batcher reports it) and the run's compute time.
func (o *BatchObserver) Observe(batchSize int, queueWait, compute time.Duration) {
	o.size.Observe(float64(batchSize))
	o.queue.Observe(queueWait.Seconds())
	o.compute.Observe(compute.Seconds())
}
