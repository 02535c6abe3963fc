package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/kong-plugin/internal/quota"
)

// Handle answers one request: router gives its path to the protocol that
// owns it, the core authenticates the caller, reads the body, lets the
// endpoint serve, and counts the answer. It never panics: a panic is logged
// with its stack, counted, and answered 500 JSON, because in a plugin
// server a panic would kill every in-flight request on the node.
func (g *Gateway) Handle(ctx context.Context, router protocol.Router, req protocol.Request) (resp protocol.Response) {
	defer func() {
		if p := recover(); p != nil {
			g.metrics.panics.Inc()
			g.log.Error("panic while handling a request", "panic", p, "method", req.Method,
				"path", req.Path, "stack", string(debug.Stack()))
			resp = protocol.ErrorAnswer(protocol.Errorf(protocol.KindInternal, "internal error"), nil)
		}
	}()
	ex := &exchange{g: g, req: req, header: http.Header{}, parent: ctx, start: time.Now()}
	ctx, cancel := context.WithDeadline(ctx, g.deadline(ex.start, req.Deadline, 0))
	defer cancel()
	return ex.run(ctx, router)
}

// deadline is when a request that started at start must be answered:
// start + asked (the body's parameters.timeout) when asked > 0, the
// front-end's deadline when set (the earlier of the two when both are), else
// limits.default_timeout from start; never later than limits.max_timeout
// from start.
func (g *Gateway) deadline(start, frontEnd time.Time, asked time.Duration) time.Time {
	d := start.Add(g.timeout)
	switch {
	case asked > 0 && !frontEnd.IsZero():
		d = start.Add(asked)
		if frontEnd.Before(d) {
			d = frontEnd
		}
	case asked > 0:
		d = start.Add(asked)
	case !frontEnd.IsZero():
		d = frontEnd
	}
	if limit := start.Add(g.maxTimeout); d.After(limit) {
		return limit
	}
	return d
}

// withTimeout replaces the request's default deadline by the one the client
// asked for in the body (which may be longer than the default).
func (ex *exchange) withTimeout(asked time.Duration) (context.Context, context.CancelFunc) {
	return context.WithDeadline(ex.parent, ex.g.deadline(ex.start, ex.req.Deadline, asked))
}

// exchange is one request on its way through the gateway; it is the
// protocol.Exchange its endpoint serves with.
type exchange struct {
	g        *Gateway
	req      protocol.Request
	model    string // the model the path names; "" for none
	identity auth.Identity
	header   http.Header // added to every answer from the point it is set (quota, version)
	// urlVersion is a version the path asked for; version the version that
	// answered ("" until known); known that the model exists (configured,
	// or the sidecar knew it).
	urlVersion string
	version    string
	known      bool
	// parent is Handle's context before the default deadline, and start
	// when Handle began: a timeout in the body replaces the default.
	parent context.Context
	start  time.Time
	// items, privacyAction and findings are for the audit record: the
	// request's batch items once counted, the privacy action applied and
	// what it found (protect).
	items         int
	privacyAction string
	findings      []protocol.Finding
}

func (ex *exchange) run(ctx context.Context, router protocol.Router) protocol.Response {
	ep, rerr := router.Route(ex.req.Method, ex.req.Path)
	if rerr != nil {
		return protocol.ErrorAnswer(rerr, nil)
	}
	ex.model = ep.Model()
	_, ex.known = ex.g.routing.models[ex.model]
	if ep.Public() {
		res, err := ep.Serve(ctx, ex, &ex.req)
		if err != nil {
			return protocol.ErrorAnswer(fromSidecar(ctx, err), nil)
		}
		return res
	}
	if err := ex.authenticate(); err != nil {
		return ex.finish(protocol.ErrorAnswer(err, nil))
	}
	if err := ex.readBody(); err != nil {
		return ex.finish(protocol.ErrorAnswer(err, nil))
	}
	res, e := ep.Serve(ctx, ex, &ex.req)
	if e != nil {
		ge := fromSidecar(ctx, e)
		if ge.Kind != protocol.KindClientClosed && protocol.Status(ge.Kind) >= 500 {
			ex.g.log.Warn("request failed", "status", protocol.Status(ge.Kind), "model", ex.model, "err", ge)
		}
		res = protocol.ErrorAnswer(ge, ex.header)
	}
	return ex.finish(res)
}

// Header is what every answer carries from the point it is set (quota, version).
func (ex *exchange) Header() http.Header { return ex.header }

// finish counts the answer and sets the consumer and the audit record.
func (ex *exchange) finish(res protocol.Response) protocol.Response {
	res.Consumer = ex.identity.Consumer
	res.Audit = protocol.Audit{Consumer: ex.identity.Consumer, Model: ex.model, Version: ex.version, Status: res.Status,
		Items: ex.items, Latency: time.Since(ex.start), Action: ex.privacyAction, Findings: ex.findings}
	if ex.model != "" {
		model, version := "_other", "_other"
		if ex.known || res.Status < 400 {
			model = ex.model
			// A version typed in the URL is only a label value once the
			// sidecar served it: clients must not grow the label set.
			if ex.version != "" && (res.Status < 400 || ex.urlVersion == "") {
				version = ex.version
			}
		}
		status := strconv.Itoa(res.Status)
		ex.g.metrics.requests.WithLabelValues(model, version, status).Inc()
		if ex.g.cfg.Metrics.ConsumerLabels && ex.identity.Consumer != "" {
			ex.g.metrics.consumerRequests.WithLabelValues(ex.g.consumers.label(ex.identity.Consumer), status).Inc()
		}
	}
	return res
}

func (ex *exchange) authenticate() *protocol.Error {
	if ex.g.auth == nil {
		return nil
	}
	id, err := ex.g.auth.Authenticate(ex.req.Header)
	if err != nil {
		var ae *auth.Error
		if !errors.As(err, &ae) {
			return protocol.Wrap(protocol.KindInternal, "internal error", err)
		}
		ex.g.metrics.authFailures.WithLabelValues(string(ae.Reason)).Inc()
		e := protocol.Wrap(protocol.KindUnauthorized, ae.Message(), err)
		e.Header = http.Header{"Www-Authenticate": []string{ae.WWWAuthenticate()}}
		return e
	}
	ex.identity = id
	return nil
}

// readBody fetches the body from a front-end that reads it on demand
// (Request.ReadBody), once the caller is authenticated: a request without
// valid credentials never costs the front-end the body's read.
func (ex *exchange) readBody() *protocol.Error {
	if ex.req.ReadBody == nil {
		return nil
	}
	body, err := ex.req.ReadBody()
	ex.req.ReadBody = nil
	if err != nil {
		ex.g.log.Warn("the front-end could not read the request body", "err", err)
		return protocol.Wrap(protocol.KindTooLarge, fmt.Sprintf("the request body could not be read; the limit is %d bytes", ex.g.maxBody), err)
	}
	ex.req.Body = body
	return nil
}

// takeQuota charges the request; the returned release must be called when
// the request is done. Quota headers go on every answer from here on.
func (ex *exchange) takeQuota(ctx context.Context, items int) (func(), *protocol.Error) {
	noop := func() {}
	if ex.g.limiter == nil || ex.identity.Tier == "" {
		return noop, nil
	}
	d, err := ex.g.limiter.Take(ctx, ex.identity.Consumer, ex.identity.Tier, items)
	if err != nil {
		if errors.Is(err, quota.ErrUnavailable) {
			e := protocol.Wrap(protocol.KindUnavailable, "the quota service is unavailable, retry later", err)
			e.Header = protocol.RetryAfter(1)
			return noop, e
		}
		return noop, protocol.Wrap(protocol.KindInternal, "internal error", err)
	}
	for k, v := range d.Headers {
		ex.header[k] = v
	}
	if !d.Allowed {
		d.Release()
		ex.g.metrics.quotaRejections.WithLabelValues(d.Window).Inc()
		return noop, protocol.Errorf(protocol.KindRateLimited, "%s", quota.RejectMessage)
	}
	return d.Release, nil
}
