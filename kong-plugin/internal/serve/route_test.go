package serve

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func mustRoute(t *testing.T, name string, index int, paths []string, methods []string) *route {
	t.Helper()
	r := &route{name: name, index: index, methods: methods}
	for _, raw := range paths {
		rp, err := compilePath(raw)
		if err != nil {
			t.Fatal(err)
		}
		r.paths = append(r.paths, rp)
	}
	return r
}

// TestRouterKongPrecedence: prefixes, the longest prefix first, regex paths
// (anchored at the start) before prefixes and by regex_priority, methods and
// hosts as extra criteria, and no match at all.
func TestRouterKongPrecedence(t *testing.T) {
	v2 := mustRoute(t, "v2", 0, []string{"/v2/"}, []string{"GET", "POST"})
	v2infer := mustRoute(t, "v2-models", 1, []string{"/v2/models/"}, []string{"GET", "POST"})
	predict := mustRoute(t, "predict", 2, []string{`~/v1/models/[^/]+:predict$`}, []string{"POST"})
	predictHigh := mustRoute(t, "predict-high", 3, []string{`~/v1/models/sentiment`}, []string{"POST"})
	predictHigh.regexPriority = 10
	v1 := mustRoute(t, "v1", 4, []string{"/v1/"}, []string{"POST"})
	hosted := mustRoute(t, "hosted", 5, []string{"/v2/"}, []string{"GET"})
	hosted.hosts = []string{"*.example.com"}
	rt := router{routes: []*route{v2, v2infer, predict, predictHigh, v1, hosted}}

	tests := []struct {
		method, target, host string
		want                 string // route name, "" for none
	}{
		{"GET", "/v2/health/ready", "", "v2"},
		{"POST", "/v2/models/sentiment/infer", "", "v2-models"},
		{"GET", "/v2/health/ready", "api.example.com", "hosted"},
		{"POST", "/v1/models/other:predict", "", "predict"},
		{"POST", "/v1/models/sentiment:predict", "", "predict-high"},
		{"POST", "/v1/other", "", "v1"},
		{"GET", "/v1/models/sentiment:predict", "", ""}, // no route takes GET there
		{"GET", "/v2", "", ""},                          // "/v2/" is a prefix of paths below /v2/ only
		{"GET", "/x/v1/models/a:predict", "", ""},       // regexes are anchored at the start
		{"DELETE", "/v2/models/x", "", ""},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.target, nil)
		if tt.host != "" {
			req.Host = tt.host
		}
		got := ""
		if r := rt.find(req); r != nil {
			got = r.name
		}
		if got != tt.want {
			t.Errorf("%s %s (host %q): route %q, want %q", tt.method, tt.target, tt.host, got, tt.want)
		}
	}
}

// TestHandlerKongMessages: unmatched requests get Kong's own 404 body; a
// serviceless route without the plugin gets Kong's 503.
func TestHandlerKongMessages(t *testing.T) {
	h := handler{router: router{routes: []*route{mustRoute(t, "bare", 0, []string{"/bare/"}, nil)}}}
	for _, tt := range []struct {
		target string
		status int
		body   string
	}{
		{"/nowhere", http.StatusNotFound, noRouteBody},
		{"/bare/x", http.StatusServiceUnavailable, noServiceBody},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tt.target, nil))
		if rec.Code != tt.status || strings.TrimSpace(rec.Body.String()) != tt.body || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Errorf("GET %s: %d %q (%s), want %d %q", tt.target, rec.Code, rec.Body, rec.Header().Get("Content-Type"), tt.status, tt.body)
		}
	}
}
