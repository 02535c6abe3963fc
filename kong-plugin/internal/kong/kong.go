// Package kong is the Kong adapter: the only place with Kong types. It
// turns Kong's access phase into a protocol.Request with a fixed, small
// number of PDK calls (method, path, all headers at once, sent together
// under modelgate's plugin server; the raw body for POST once the core has
// authenticated the caller, then exit; plus load_consumer and authenticate
// when auth.kong_consumer is on, get_forwarded_ip in an open gateway with a
// traffic split, and log.set_serialize_value with privacy or audit on) and
// hands the core's Response to kong.response.exit.
package kong

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/Kong/go-pdk"

	"github.com/modelgate/modelgate/kong-plugin/internal/apis"
	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/core"
	"github.com/modelgate/modelgate/kong-plugin/internal/pluginserver"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// Version and Priority are what the plugin server reports to Kong. The
// priority runs modelgate after Kong's authentication plugins (key-auth
// 1250, jwt 1450) and before its rate limiting (910); modelgate answers
// the request itself, so plugins of lower priority never run for it.
const (
	Version  = protocol.Version
	Priority = 950
)

// Config is the plugin config as go-pdk sees it. It is a defined type over
// config.Config, not an embedding, so the schema go-pdk derives by
// reflection has the same flat fields that kong.yml writes.
type Config config.Config

// New is go-pdk's constructor: one empty Config per plugin instance, which
// go-pdk then fills from Kong's JSON.
func New() interface{} { return &Config{} }

// Access handles Kong's access phase: it answers every request itself.
// go-pdk's plugin servers (and its test package) call it; modelgate's own
// calls AccessConn.
func (c *Config) Access(kong *pdk.PDK) {
	serve(func() protocol.Response { return c.access(kong, askOneByOne) }, pdkExit(kong))
}

// pdkExit answers through go-pdk's kong.response.exit.
func pdkExit(kong *pdk.PDK) func(protocol.Response) {
	return func(res protocol.Response) { kong.Response.Exit(res.Status, res.Body, res.Header) }
}

// AccessConn is Access under modelgate's plugin server, which hands over
// the connection under the PDK: the first PDK calls go to Kong together,
// one round trip instead of three or four, and kong.response.exit goes
// without waiting for the answer Kong never sends (pluginserver.Conn.Exit).
func (c *Config) AccessConn(kong *pdk.PDK, conn pluginserver.Conn) {
	serve(func() protocol.Response { return c.access(kong, pipelined(conn)) }, func(res protocol.Response) {
		if err := conn.Exit(res.Status, res.Body, res.Header); err != nil {
			slog.Error("Kong PDK call failed", "call", "kong.response.exit", "err", err)
		}
	})
}

// serve runs handle and hands its answer to respond (kong.response.exit),
// answering 500 JSON instead when handle panics.
func serve(handle func() protocol.Response, respond func(protocol.Response)) {
	exited := false
	exit := func(res protocol.Response) {
		exited = true
		respond(res)
	}
	// go-pdk has no recover: a panic here would kill the plugin server and
	// every request in flight on the node.
	defer func() {
		if p := recover(); p != nil {
			slog.Error("panic in the Kong access handler", "panic", p, "stack", string(debug.Stack()))
			if !exited {
				exit(protocol.ErrorResponse(protocol.KindInternal, "internal error"))
			}
		}
	}()
	exit(handle())
}

// access runs everything up to the exit, which Access makes last; ask
// fetches what every request needs from Kong.
func (c *Config) access(kong *pdk.PDK, ask askFunc) protocol.Response {
	g, err := core.Get((*config.Config)(c))
	if err != nil {
		slog.Error("modelgate plugin config rejected", "err", err)
		return protocol.ErrorResponse(protocol.KindInternal, "the modelgate plugin is misconfigured; see the plugin server log")
	}
	// As modelgate serve uses the connection's address: Kong's forwarded
	// IP is that address unless trusted_ips say otherwise.
	f, err := ask(kong, g.UsesClientIP())
	if err != nil {
		return pdkFailure("get_method, get_path_with_query, get_headers", err)
	}
	req := protocol.Request{Method: f.method, Header: f.headers, ClientIP: f.ip}
	req.Path, req.RawQuery, _ = strings.Cut(f.pathQuery, "?")
	if f.method != http.MethodGet && f.method != http.MethodHead {
		// The gateway asks for the body only after authentication, so a
		// 401 costs no get_raw_body round trip. Kong only hands over a body
		// that fits nginx's client body buffer (or its temp file): see the
		// README's body settings.
		req.ReadBody = kong.Request.GetRawBody
	}
	res := g.Handle(context.Background(), apis.Router, req)
	if g.KongConsumer() && res.Consumer != "" && res.Status < 400 {
		c.authenticateConsumer(kong, res.Consumer)
	}
	if g.Audits() && res.Audit.Status != 0 {
		audit(kong, res.Audit)
	}
	return res
}

// authenticateConsumer tells Kong who the consumer is, so Kong's logging
// and analytics plugins see it. A consumer missing from Kong's database is
// logged, not fatal: the gateway's own auth already decided.
func (c *Config) authenticateConsumer(kong *pdk.PDK, name string) {
	consumer, err := kong.Client.LoadConsumer(name, true)
	if err != nil || consumer.Id == "" {
		slog.Warn("kong consumer not found; kong.client.authenticate skipped", "consumer", name, "err", err)
		return
	}
	if err := kong.Client.Authenticate(&consumer, nil); err != nil {
		slog.Warn("kong.client.authenticate failed", "consumer", name, "err", err)
	}
}

func pdkFailure(call string, err error) protocol.Response {
	slog.Error("Kong PDK call failed", "call", call, "err", err)
	return protocol.ErrorResponse(protocol.KindInternal, "internal error")
}

// canonical turns Kong's lowercase header names into Go's canonical form.
func canonical(h map[string][]string) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		out[http.CanonicalHeaderKey(k)] = v
	}
	return out
}
