package core

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the plugin server's Prometheus collectors. There is one set
// per process (in the registry), whatever the number of configs, so that
// counters survive config changes and Kong instance restarts.
type metrics struct {
	registry         *prometheus.Registry
	authFailures     *prometheus.CounterVec
	quotaRejections  *prometheus.CounterVec
	requests         *prometheus.CounterVec
	consumerRequests *prometheus.CounterVec
	sidecarLatency   *prometheus.HistogramVec
	sidecarRestarts  prometheus.Counter
	sidecarUp        prometheus.Gauge
	redisErrors      prometheus.Counter
	shadow           *prometheus.CounterVec
	panics           prometheus.Counter
	// privacyFindings and privacyRejections are the privacy policy's.
	privacyFindings   *prometheus.CounterVec
	privacyRejections prometheus.Counter
}

const namespace = "modelgate"

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "auth_failures_total",
			Help: "Requests refused with 401, by reason.",
		}, []string{"reason"}),
		quotaRejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "quota_rejections_total",
			Help: "Requests refused with 429, by the quota window that ran out.",
		}, []string{"window"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "requests_total",
			Help: "Answered model requests by model, version and HTTP status (model and version are \"_other\" when unknown).",
		}, []string{"model", "version", "status"}),
		consumerRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "consumer_requests_total",
			Help: "Answered model requests by consumer (a JWT subject's is its issuer's \"<namespace>:*\") and status; only with metrics.consumer_labels.",
		}, []string{"consumer", "status"}),
		sidecarLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "sidecar_request_duration_seconds",
			Help:    "Duration of gRPC calls to the sidecar, by method and gRPC code.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "code"}),
		sidecarRestarts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "sidecar_restarts_total",
			Help: "Times the supervisor relaunched (launch mode) or reattached to (attach mode) the sidecar.",
		}),
		sidecarUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "sidecar_up",
			Help: "1 while the sidecar answers, 0 while it is down.",
		}),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "redis_errors_total",
			Help: "Quota checks that failed because Redis was down or slow.",
		}),
		shadow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "shadow_requests_total",
			Help: "Shadow requests by model, the version that served the primary answer (from), the shadow version (to) and result: agree, disagree (with the primary answer), error, or dropped (too many shadow calls running).",
		}, []string{"model", "from", "to", "result"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "panics_total",
			Help: "Requests answered 500 because a handler panicked (a bug).",
		}),
		privacyFindings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "privacy_findings_total",
			Help: "Personal data found in texts on their way to a model, by kind (detector or custom pattern) and the action taken.",
		}, []string{"kind", "action"}),
		privacyRejections: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "privacy_rejections_total",
			Help: "Requests refused with 400 because the privacy action reject found personal data.",
		}),
	}
	m.registry.MustRegister(m.privacyFindings, m.privacyRejections)
	m.registry.MustRegister(m.authFailures, m.quotaRejections, m.requests, m.consumerRequests,
		m.sidecarLatency, m.sidecarRestarts, m.sidecarUp, m.redisErrors, m.shadow, m.panics,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
