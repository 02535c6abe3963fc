package serve

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/apis"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// Kong's own answers when no route or no plugin answers a request, byte for
// byte as Kong 3.x sends them.
const (
	noRouteBody   = `{"message":"no Route matched with those values"}`
	noServiceBody = `{"message":"no Service found with those values"}`
	noProxyBody   = `{"message":"modelgate serve does not proxy to services: attach the modelgate plugin to this route"}`
)

// writeGrace is how much longer than the gateway's longest deadline
// (limits.max_timeout) an answer may take to write before serve gives up on
// a client that does not read it.
const writeGrace = 5 * time.Second

// handler answers HTTP requests the way Kong does with kong.yml loaded:
// route matching first, then the route's modelgate plugin.
type handler struct {
	router router
	// bodyTimeout is nginx's client_body_timeout: the longest wait for the
	// next bytes of a request body.
	bodyTimeout time.Duration
}

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// With no server-wide WriteTimeout the deadline carries over between
	// requests on one connection: every request sets its own.
	_ = rc.SetWriteDeadline(time.Now().Add(writeGrace))
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
	limit := int64(g.MaxBodyBytes())
	if r.ContentLength > limit {
		// As nginx's client_max_body_size: at once, before reading a byte.
		refuseUnread(w, http.StatusRequestEntityTooLarge, tooLarge(r.ContentLength, limit), r.ContentLength)
		return
	}
	// One byte past the limit tells a body that is too large.
	body, err := io.ReadAll(io.LimitReader(deadlineReader{body: r.Body, rc: rc, timeout: h.bodyTimeout}, limit+1))
	// Past the body, the connection's reads are net/http's again (it
	// watches for the client going away while the request runs).
	_ = rc.SetReadDeadline(time.Time{})
	switch {
	case isTimeout(err):
		refuseUnread(w, http.StatusRequestTimeout, fmt.Sprintf("no request body bytes for %s", h.bodyTimeout), -1)
		return
	case err != nil:
		kongMessage(w, http.StatusBadRequest, `{"message":"cannot read the request body"}`)
		return
	case int64(len(body)) > limit:
		refuseUnread(w, http.StatusRequestEntityTooLarge, tooLarge(-1, limit), -1)
		return
	}
	_ = rc.SetWriteDeadline(time.Now().Add(g.MaxTimeout() + writeGrace))
	header := r.Header.Clone()
	header.Set("Host", r.Host) // Kong's get_headers includes it; Go moves it out of Header
	ip := r.RemoteAddr
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	// Path is the client's path, as kong.request.get_path gives it to the
	// plugin whatever the route's strip_path says.
	res := g.Handle(r.Context(), apis.Router, protocol.Request{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   header,
		Body:     body,
		ClientIP: ip,
	})
	setAudit(w, res.Audit)
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

func tooLarge(size, limit int64) string {
	if size < 0 {
		return fmt.Sprintf("the request body is over the limit of %d bytes", limit)
	}
	return fmt.Sprintf("the request body is %d bytes, the limit is %d", size, limit)
}
