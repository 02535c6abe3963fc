package core

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDeadlineChoice: the body's parameters.timeout replaces the default (longer
// or shorter), a front-end's deadline wins when earlier, and
// limits.max_timeout caps everything.
func TestDeadlineChoice(t *testing.T) {
	g := &Gateway{timeout: 10 * time.Second, maxTimeout: time.Minute}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	tests := []struct {
		name     string
		frontEnd time.Time
		asked    time.Duration
		want     time.Time
	}{
		{"nothing asked: the default", time.Time{}, 0, at(10 * time.Second)},
		{"shorter than the default", time.Time{}, time.Millisecond, at(time.Millisecond)},
		{"longer than the default", time.Time{}, 30 * time.Second, at(30 * time.Second)},
		{"capped by max_timeout", time.Time{}, time.Hour, at(time.Minute)},
		{"front-end only", at(5 * time.Second), 0, at(5 * time.Second)},
		{"front-end capped", at(time.Hour), 0, at(time.Minute)},
		{"front-end earlier than asked", at(2 * time.Second), 30 * time.Second, at(2 * time.Second)},
		{"asked earlier than front-end", at(20 * time.Second), time.Second, at(time.Second)},
	}
	for _, tt := range tests {
		if got := g.deadline(start, tt.frontEnd, tt.asked); !got.Equal(tt.want) {
			t.Errorf("%s: deadline = %s, want %s", tt.name, got.Sub(start), tt.want.Sub(start))
		}
	}
}

// TestRequestTimeoutParameter: Triton's parameters.timeout (microseconds)
// reaches the sidecar call: 1µs is over before the model runs (504), a
// generous one serves, a negative one is the client's mistake (400).
func TestRequestTimeoutParameter(t *testing.T) {
	g := startGateway(t, adderConfig(t))
	withTimeout := func(us string) string {
		return strings.Replace(adderBody, `{"inputs"`, `{"parameters":{"timeout":`+us+`,"priority":1},"inputs"`, 1)
	}
	// Metadata is cached after the first request: the 504 must come from
	// the inference call itself too, so ask twice.
	for i := range 2 {
		res := call(g, "POST", "/v2/models/adder/versions/1/infer", keyAlice, withTimeout("1"))
		if res.Status != http.StatusGatewayTimeout || !strings.Contains(string(res.Body), "timeout") {
			t.Fatalf("timeout 1µs, request %d: %d %s", i, res.Status, res.Body)
		}
	}
	if res := call(g, "POST", "/v2/models/adder/versions/1/infer", keyAlice, withTimeout("30000000")); res.Status != http.StatusOK {
		t.Errorf("timeout 30s: %d %s", res.Status, res.Body)
	}
	if res := call(g, "POST", "/v2/models/adder/versions/1/infer", keyAlice, withTimeout("0")); res.Status != http.StatusOK {
		t.Errorf("timeout 0 (the default): %d %s", res.Status, res.Body)
	}
	for _, bad := range []string{"-1", "1.5", `"soon"`} {
		if res := call(g, "POST", "/v2/models/adder/versions/1/infer", keyAlice, withTimeout(bad)); res.Status != http.StatusBadRequest {
			t.Errorf("timeout %s: %d %s, want 400", bad, res.Status, res.Body)
		}
	}
}
