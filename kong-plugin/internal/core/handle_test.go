package core

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/apis"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// TestHandleRecoversFromPanics: a bug must cost one request a 500, not the
// plugin server and every request in flight with it.
func TestHandleRecoversFromPanics(t *testing.T) {
	m := newMetrics()
	// No sidecar supervisor: the health check dereferences nil and panics.
	g := &Gateway{metrics: m, log: slog.New(slog.NewTextHandler(io.Discard, nil)), routing: compileRouting(nil)}
	res := g.Handle(context.Background(), apis.Router, protocol.Request{Method: "GET", Path: "/v2/health/live"})
	if res.Status != http.StatusInternalServerError || string(res.Body) != `{"error":"internal error"}` ||
		res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%d %v %s", res.Status, res.Header, res.Body)
	}
	if value(m.panics) != 1 {
		t.Errorf("panics_total %v, want 1", value(m.panics))
	}
}
