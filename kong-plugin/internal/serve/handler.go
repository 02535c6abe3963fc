package serve

import (
	"io"
	"net"
	"net/http"

	"github.com/modelgate/modelgate/kong-plugin/internal/gateway"
)

// Kong's own answers when no route or no plugin answers a request, byte for
// byte as Kong 3.x sends them.
const (
	noRouteBody   = `{"message":"no Route matched with those values"}`
	noServiceBody = `{"message":"no Service found with those values"}`
	noProxyBody   = `{"message":"modelgate serve does not proxy to services: attach the modelgate plugin to this route"}`
)

// handler answers HTTP requests the way Kong does with kong.yml loaded:
// route matching first, then the route's modelgate plugin.
type handler struct {
	router router
}

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt := h.router.find(r)
	switch {
	case rt == nil:
		kongMessage(w, http.StatusNotFound, noRouteBody)
		return
	case rt.gateway == nil && rt.service == "":
		kongMessage(w, http.StatusServiceUnavailable, noServiceBody)
		return
	case rt.gateway == nil:
		kongMessage(w, http.StatusBadGateway, noProxyBody)
		return
	}
	g := rt.gateway
	// One byte past the limit is enough for the core to answer 413.
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(g.MaxBodyBytes())+1))
	if err != nil {
		kongMessage(w, http.StatusBadRequest, `{"message":"cannot read the request body"}`)
		return
	}
	header := r.Header.Clone()
	header.Set("Host", r.Host) // Kong's get_headers includes it; Go moves it out of Header
	ip := r.RemoteAddr
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	// Path is the client's path, as kong.request.get_path gives it to the
	// plugin whatever the route's strip_path says.
	res := g.Handle(r.Context(), gateway.Request{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   header,
		Body:     body,
		ClientIP: ip,
	})
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.Status)
	_, _ = w.Write(res.Body)
}

func kongMessage(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
