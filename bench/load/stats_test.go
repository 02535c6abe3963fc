package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

func sampleOf(ms ...int) *Sample {
	var s Sample
	for _, v := range ms {
		s.Add(time.Duration(v) * time.Millisecond)
	}
	return &s
}

func TestPercentileNearestRank(t *testing.T) {
	// 1..100 ms in reverse order: the p-th percentile is p ms exactly.
	var s Sample
	for i := 100; i >= 1; i-- {
		s.Add(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{
		{50, 50 * time.Millisecond},
		{99, 99 * time.Millisecond},
		{100, 100 * time.Millisecond},
		{0.5, 1 * time.Millisecond},
		{99.5, 100 * time.Millisecond},
	} {
		if got := s.Percentile(tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestPercentileSmallSamples(t *testing.T) {
	for _, tc := range []struct {
		s         *Sample
		p50, p99  time.Duration
		mean, max time.Duration
	}{
		{sampleOf(), 0, 0, 0, 0},
		{sampleOf(7), 7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond},
		// Nearest rank of p50 over 4 values is the 2nd: 2 ms; p99 is the 4th.
		{sampleOf(4, 1, 3, 2), 2 * time.Millisecond, 4 * time.Millisecond, 2500 * time.Microsecond, 4 * time.Millisecond},
		// One outlier in 100 does not move p99 but is the max and shifts the mean.
		{append100(1, 99, 1000), 1 * time.Millisecond, 1 * time.Millisecond, 10990 * time.Microsecond, 1000 * time.Millisecond},
	} {
		if got := tc.s.Percentile(50); got != tc.p50 {
			t.Errorf("%d values: p50 = %v, want %v", tc.s.Len(), got, tc.p50)
		}
		if got := tc.s.Percentile(99); got != tc.p99 {
			t.Errorf("%d values: p99 = %v, want %v", tc.s.Len(), got, tc.p99)
		}
		if got := tc.s.Mean(); got != tc.mean {
			t.Errorf("%d values: mean = %v, want %v", tc.s.Len(), got, tc.mean)
		}
		if got := tc.s.Max(); got != tc.max {
			t.Errorf("%d values: max = %v, want %v", tc.s.Len(), got, tc.max)
		}
	}
}

// append100 is n copies of v then one outlier.
func append100(v, n, outlier int) *Sample {
	var s Sample
	for range n {
		s.Add(time.Duration(v) * time.Millisecond)
	}
	s.Add(time.Duration(outlier) * time.Millisecond)
	return &s
}

func TestMergeKeepsEveryValue(t *testing.T) {
	a, b := sampleOf(1, 3), sampleOf(2, 4)
	_ = a.Percentile(50) // sorts a; the merge must re-sort
	a.Merge(b)
	if a.Len() != 4 || a.Percentile(25) != time.Millisecond || a.Percentile(75) != 3*time.Millisecond {
		t.Fatalf("merged sample: len %d p25 %v p75 %v", a.Len(), a.Percentile(25), a.Percentile(75))
	}
}

func TestSummaryRates(t *testing.T) {
	r := Result{Requests: 10, Items: 80, Elapsed: 2 * time.Second, Errors: map[string]int64{"http_503": 2, "timeout": 1}}
	r.Latency = *sampleOf(1, 2, 3)
	s := r.Summarize()
	if s.ItemsPerSecond != 40 || r.RequestsPerSecond() != 5 || r.ErrorCount() != 3 {
		t.Fatalf("items/s %v req/s %v errors %d", s.ItemsPerSecond, r.RequestsPerSecond(), r.ErrorCount())
	}
	if s.P50Micros != 2000 || s.P99Micros != 3000 || s.MeanMicros != 2000 {
		t.Fatalf("summary %+v", s)
	}
	if (&Result{}).ItemsPerSecond() != 0 {
		t.Fatal("zero elapsed must give zero rate, not NaN")
	}
}

func TestKind(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&StatusError{Status: 503}, "http_503"},
		{fmt.Errorf("call: %w", &StatusError{Status: 429}), "http_429"},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), "timeout"},
		{context.Canceled, "canceled"},
		{errors.New("boom"), "error"},
	} {
		if got := Kind(tc.err); got != tc.want {
			t.Errorf("Kind(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestFixedSchedule(t *testing.T) {
	got := Open{Rate: 200}.Schedule(5, 0)
	for i, at := range got {
		if want := time.Duration(i) * 5 * time.Millisecond; at != want {
			t.Fatalf("request %d at %v, want %v", i, at, want)
		}
	}
	if len(got) != 5 {
		t.Fatalf("%d requests, want 5", len(got))
	}
	// Bounded by duration: 1 s at 200/s is 200 requests at 0, 5ms, ..., 995ms.
	if n := len((Open{Rate: 200}).Schedule(0, time.Second)); n != 200 {
		t.Fatalf("1s at 200/s scheduled %d requests, want 200", n)
	}
	if (Open{Rate: 200}).Schedule(0, 0) != nil || (Open{}).Schedule(10, 0) != nil {
		t.Fatal("an unbounded or rate-less schedule must be empty")
	}
}

func TestPoissonSchedule(t *testing.T) {
	const rate, n = 1000.0, 100000
	o := Open{Rate: rate, Poisson: true, Seed: 42}
	s := o.Schedule(n, 0)
	if len(s) != n {
		t.Fatalf("%d requests, want %d", len(s), n)
	}
	// Exponential gaps: mean 1/rate, and the standard deviation equals the mean.
	var sum, sumSq float64
	for i := 1; i < n; i++ {
		gap := float64(s[i]-s[i-1]) / float64(time.Second)
		if gap < 0 {
			t.Fatalf("schedule goes backwards at %d", i)
		}
		sum += gap
		sumSq += gap * gap
	}
	mean := sum / (n - 1)
	sd := math.Sqrt(sumSq/(n-1) - mean*mean)
	if math.Abs(mean*rate-1) > 0.02 || math.Abs(sd*rate-1) > 0.03 {
		t.Fatalf("gap mean %.6f s, sd %.6f s; want both near %.6f", mean, sd, 1/rate)
	}
	// The same seed gives the same schedule.
	again := o.Schedule(n, 0)
	for i := range s {
		if s[i] != again[i] {
			t.Fatalf("schedule differs at %d with the same seed", i)
		}
	}
}

func TestResultMergeIsOneLongerRun(t *testing.T) {
	a := Result{Requests: 10, Items: 80, Elapsed: time.Second, Errors: map[string]int64{"timeout": 1}}
	a.Latency = *sampleOf(1, 2)
	b := Result{Requests: 30, Items: 160, Elapsed: 3 * time.Second, Errors: map[string]int64{"timeout": 2, "http_503": 1}}
	b.Latency = *sampleOf(3, 4)
	a.Merge(&b)
	if a.Requests != 40 || a.Items != 240 || a.ItemsPerSecond() != 60 || a.Errors["timeout"] != 3 || a.Errors["http_503"] != 1 {
		t.Fatalf("merged: %+v", a)
	}
	if a.Latency.Len() != 4 || a.Latency.Percentile(50) != 2*time.Millisecond {
		t.Fatalf("merged latencies: len %d p50 %v", a.Latency.Len(), a.Latency.Percentile(50))
	}
}
