package kong

import (
	"net/http"
	"testing"

	"github.com/Kong/go-pdk"
	"github.com/Kong/go-pdk/test"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// panicky is a plugin whose handler panics, after its exit when exitFirst.
type panicky struct{ exitFirst bool }

func (p panicky) Access(kong *pdk.PDK) {
	serve(func() protocol.Response {
		if _, err := kong.Request.GetMethod(); err != nil { // a PDK call in flight, as in the real handler
			panic(err)
		}
		if p.exitFirst {
			kong.Response.Exit(http.StatusTeapot, []byte(`{"error":"short and stout"}`), http.Header{"Content-Type": {"application/json"}})
		}
		panic("boom")
	}, pdkExit(kong))
}

// TestAccessRecoversFromPanics: go-pdk has no recover, so a panic in the
// handler would kill the plugin server and every request on the node. The
// adapter answers 500 JSON instead (or keeps the answer already sent), and
// the process goes on serving.
func TestAccessRecoversFromPanics(t *testing.T) {
	env, err := test.New(t, test.Request{Method: "GET", Url: "http://kong/v2/health/live"})
	if err != nil {
		t.Fatal(err)
	}
	env.DoAccess(panicky{})
	res := env.ClientRes
	if res.Status != http.StatusInternalServerError || string(res.Body) != `{"error":"internal error"}` ||
		res.Headers.Get("Content-Type") != "application/json" {
		t.Errorf("panic before the exit: %d %v %s", res.Status, res.Headers, res.Body)
	}

	env, err = test.New(t, test.Request{Method: "GET", Url: "http://kong/v2/health/live"})
	if err != nil {
		t.Fatal(err)
	}
	env.DoAccess(panicky{exitFirst: true})
	if res := env.ClientRes; res.Status != http.StatusTeapot {
		t.Errorf("panic after the exit: %d %s; want the answer already sent", res.Status, res.Body)
	}

	// Still alive: the real plugin answers the next request.
	cfg := testConfig(t, false)
	waitReady(t, cfg)
	if res := access(t, cfg, test.Request{Method: "GET", Url: "http://kong/v2/health/live"}); res.Status != http.StatusOK {
		t.Errorf("after the panics: %d %s", res.Status, res.Body)
	}
}
