package load

import (
	"math"
	"slices"
	"time"
)

// Sample is a set of request latencies. It keeps every value: a benchmark run
// records at most a few hundred thousand requests, and exact percentiles
// beat a histogram's bucket error when comparing paths that differ by
// tens of microseconds.
type Sample struct {
	values []time.Duration
	sorted bool
}

// Add records one latency.
func (s *Sample) Add(d time.Duration) {
	s.values = append(s.values, d)
	s.sorted = false
}

// Merge adds every latency of o.
func (s *Sample) Merge(o *Sample) {
	s.values = append(s.values, o.values...)
	s.sorted = false
}

// Len is the number of latencies recorded.
func (s *Sample) Len() int { return len(s.values) }

func (s *Sample) sort() {
	if !s.sorted {
		slices.Sort(s.values)
		s.sorted = true
	}
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100): the
// smallest recorded value with at least p% of the values at or below it.
// An empty sample answers 0.
func (s *Sample) Percentile(p float64) time.Duration {
	if len(s.values) == 0 {
		return 0
	}
	s.sort()
	rank := int(math.Ceil(p / 100 * float64(len(s.values))))
	rank = max(1, min(rank, len(s.values)))
	return s.values[rank-1]
}

// Mean is the arithmetic mean; 0 for an empty sample.
func (s *Sample) Mean() time.Duration {
	if len(s.values) == 0 {
		return 0
	}
	var sum float64
	for _, v := range s.values {
		sum += float64(v)
	}
	return time.Duration(sum / float64(len(s.values)))
}

// Max is the largest latency; 0 for an empty sample.
func (s *Sample) Max() time.Duration {
	if len(s.values) == 0 {
		return 0
	}
	s.sort()
	return s.values[len(s.values)-1]
}

// Result is what one load run measured.
type Result struct {
	// Requests counts the calls that completed, successfully or not.
	Requests int64
	// Items counts the items the successful calls reported.
	Items int64
	// Errors counts failed calls by kind (see Kind).
	Errors map[string]int64
	// Elapsed is the wall time from the first scheduled call to the last completion.
	Elapsed time.Duration
	// Latency holds the latency of every successful call.
	Latency Sample
	// ErrorLatency holds the latency of every failed call, so that a failure
	// that took the whole timeout is visible.
	ErrorLatency Sample
}

// ErrorCount is the number of failed calls.
func (r *Result) ErrorCount() int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// ItemsPerSecond is the successful items over the elapsed wall time.
func (r *Result) ItemsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Items) / r.Elapsed.Seconds()
}

// RequestsPerSecond is completed calls over the elapsed wall time.
func (r *Result) RequestsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Summary is a Result reduced to the numbers a report prints, in JSON-friendly units.
type Summary struct {
	Requests       int64            `json:"requests"`
	Items          int64            `json:"items"`
	Errors         map[string]int64 `json:"errors,omitempty"`
	ElapsedSeconds float64          `json:"elapsed_s"`
	ItemsPerSecond float64          `json:"items_per_s"`
	P50Micros      float64          `json:"p50_us"`
	P90Micros      float64          `json:"p90_us"`
	P99Micros      float64          `json:"p99_us"`
	MaxMicros      float64          `json:"max_us"`
	MeanMicros     float64          `json:"mean_us"`
}

// Summarize reduces r to its Summary.
func (r *Result) Summarize() Summary {
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	return Summary{
		Requests:       r.Requests,
		Items:          r.Items,
		Errors:         r.Errors,
		ElapsedSeconds: r.Elapsed.Seconds(),
		ItemsPerSecond: r.ItemsPerSecond(),
		P50Micros:      us(r.Latency.Percentile(50)),
		P90Micros:      us(r.Latency.Percentile(90)),
		P99Micros:      us(r.Latency.Percentile(99)),
		MaxMicros:      us(r.Latency.Max()),
		MeanMicros:     us(r.Latency.Mean()),
	}
}

// Merge adds o's counts, latencies and elapsed time to r, as if the two
// runs had been one run of their combined length.
func (r *Result) Merge(o *Result) {
	r.Requests += o.Requests
	r.Items += o.Items
	for k, n := range o.Errors {
		if r.Errors == nil {
			r.Errors = map[string]int64{}
		}
		r.Errors[k] += n
	}
	r.Elapsed += o.Elapsed
	r.Latency.Merge(&o.Latency)
	r.ErrorLatency.Merge(&o.ErrorLatency)
}
