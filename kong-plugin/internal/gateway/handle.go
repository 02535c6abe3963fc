package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
	"github.com/modelgate/modelgate/kong-plugin/internal/quota"
	"github.com/modelgate/modelgate/shared/pb"
)

// Handle answers one request. It never panics: a panic is logged with its
// stack, counted, and answered 500 JSON, because in a plugin server a
// panic would kill every in-flight request on the node.
func (g *Gateway) Handle(ctx context.Context, req Request) (resp Response) {
	defer func() {
		if p := recover(); p != nil {
			g.metrics.panics.Inc()
			g.log.Error("panic while handling a request", "panic", p, "method", req.Method,
				"path", req.Path, "stack", string(debug.Stack()))
			resp = errorResponse(errorf(KindInternal, "internal error"), nil)
		}
	}()
	ex := &exchange{g: g, req: req, header: http.Header{}, parent: ctx, start: time.Now()}
	ctx, cancel := context.WithDeadline(ctx, g.deadline(ex.start, req.Deadline, 0))
	defer cancel()
	return ex.run(ctx)
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

// exchange is one request on its way through the gateway.
type exchange struct {
	g        *Gateway
	req      Request
	route    route
	identity auth.Identity
	header   http.Header // added to every answer from the point it is set (quota, version)
	version  string      // the version that answered; "" until known
	known    bool        // the model exists (configured, or the sidecar knew it)
	// parent is Handle's context before the default deadline, and start
	// when Handle began: a timeout in the body replaces the default.
	parent context.Context
	start  time.Time
}

func (ex *exchange) run(ctx context.Context) Response {
	r, err := parseRoute(ex.req.Method, ex.req.Path)
	if err != nil {
		return errorResponse(err, nil)
	}
	ex.route = r
	_, ex.known = ex.g.routing.models[r.model]
	switch r.endpoint {
	case epHealthLive:
		return ex.health(ctx, false)
	case epHealthReady:
		return ex.health(ctx, true)
	case epServerMetadata:
		return jsonResponse(http.StatusOK, []byte(`{"name":"modelgate","version":"`+Version+`","extensions":[]}`), nil)
	}
	if err := ex.authenticate(); err != nil {
		return ex.finish(errorResponse(err, nil))
	}
	if err := ex.readBody(); err != nil {
		return ex.finish(errorResponse(err, nil))
	}
	var res Response
	var e error
	switch r.endpoint {
	case epRepositoryIndex:
		res, e = ex.repositoryIndex(ctx)
	case epModelMetadata:
		res, e = ex.modelMetadata(ctx)
	case epModelReady:
		res, e = ex.modelReady(ctx)
	default:
		res, e = ex.infer(ctx)
	}
	if e != nil {
		ge := fromSidecar(ctx, e)
		if ge.Kind != KindClientClosed && statusOf(ge.Kind) >= 500 {
			ex.g.log.Warn("request failed", "status", statusOf(ge.Kind), "model", r.model, "err", ge)
		}
		res = errorResponse(ge, ex.header)
	}
	return ex.finish(res)
}

// Version is the plugin's version, as go-pdk reports it to Kong.
const Version = "0.1.0"

// finish counts the answer and sets the consumer.
func (ex *exchange) finish(res Response) Response {
	res.Consumer = ex.identity.Consumer
	if ex.route.model != "" {
		model, version := "_other", "_other"
		if ex.known || res.Status < 400 {
			model = ex.route.model
			// A version typed in the URL is only a label value once the
			// sidecar served it: clients must not grow the label set.
			if ex.version != "" && (res.Status < 400 || ex.route.version == "") {
				version = ex.version
			}
		}
		status := strconv.Itoa(res.Status)
		ex.g.metrics.requests.WithLabelValues(model, version, status).Inc()
		if ex.g.cfg.Metrics.ConsumerLabels && ex.identity.Consumer != "" {
			ex.g.metrics.consumerRequests.WithLabelValues(ex.identity.Consumer, status).Inc()
		}
	}
	return res
}

func (ex *exchange) authenticate() *Error {
	if ex.g.auth == nil {
		return nil
	}
	id, err := ex.g.auth.Authenticate(ex.req.Header)
	if err != nil {
		var ae *auth.Error
		if !errors.As(err, &ae) {
			return wrap(KindInternal, "internal error", err)
		}
		ex.g.metrics.authFailures.WithLabelValues(string(ae.Reason)).Inc()
		e := wrap(KindUnauthorized, ae.Message(), err)
		e.Header = http.Header{"Www-Authenticate": []string{ae.WWWAuthenticate()}}
		return e
	}
	ex.identity = id
	return nil
}

// readBody fetches the body from a front-end that reads it on demand
// (Request.ReadBody), once the caller is authenticated: a request without
// valid credentials never costs the front-end the body's read.
func (ex *exchange) readBody() *Error {
	if ex.req.ReadBody == nil {
		return nil
	}
	body, err := ex.req.ReadBody()
	ex.req.ReadBody = nil
	if err != nil {
		ex.g.log.Warn("the front-end could not read the request body", "err", err)
		return wrap(KindTooLarge, fmt.Sprintf("the request body could not be read; the limit is %d bytes", ex.g.maxBody), err)
	}
	ex.req.Body = body
	return nil
}

// authorize checks the model's allow lists.
func (ex *exchange) authorize(m *modelRouting) *Error {
	if ex.g.auth == nil || m.allows(ex.identity.Consumer, ex.identity.Tier) {
		return nil
	}
	return errorf(KindForbidden, "consumer %q may not use model %q", ex.identity.Consumer, m.name)
}

// takeQuota charges the request; the returned release must be called when
// the request is done. Quota headers go on every answer from here on.
func (ex *exchange) takeQuota(ctx context.Context, items int) (func(), *Error) {
	noop := func() {}
	if ex.g.limiter == nil || ex.identity.Tier == "" {
		return noop, nil
	}
	d, err := ex.g.limiter.Take(ctx, ex.identity.Consumer, ex.identity.Tier, items)
	if err != nil {
		if errors.Is(err, quota.ErrUnavailable) {
			e := wrap(KindUnavailable, "the quota service is unavailable, retry later", err)
			e.Header = retryAfter(1)
			return noop, e
		}
		return noop, wrap(KindInternal, "internal error", err)
	}
	for k, v := range d.Headers {
		ex.header[k] = v
	}
	if !d.Allowed {
		d.Release()
		ex.g.metrics.quotaRejections.WithLabelValues(d.Window).Inc()
		return noop, errorf(KindRateLimited, "%s", quota.RejectMessage)
	}
	return d.Release, nil
}

func (ex *exchange) health(ctx context.Context, ready bool) Response {
	ok := false
	method := "ServerLive"
	if ready {
		method = "ServerReady"
	}
	err := ex.g.call(ctx, method, func(c pb.InferenceClient) error {
		if ready {
			r, err := c.ServerReady(ctx, &pb.ServerReadyRequest{})
			ok = r.GetReady()
			return err
		}
		r, err := c.ServerLive(ctx, &pb.ServerLiveRequest{})
		ok = r.GetLive()
		return err
	})
	field := "live"
	if ready {
		field = "ready"
	}
	if err != nil || !ok {
		h := retryAfter(1)
		h.Set("Content-Type", "application/json")
		return Response{Status: http.StatusServiceUnavailable, Header: h, Body: []byte(`{"` + field + `":false}`)}
	}
	return jsonResponse(http.StatusOK, []byte(`{"`+field+`":true}`), nil)
}

// checkBody applies the body limit and the content type.
func (ex *exchange) checkBody() *Error {
	if len(ex.req.Body) > ex.g.maxBody {
		return errorf(KindTooLarge, "the request body is %d bytes, the limit is %d", len(ex.req.Body), ex.g.maxBody)
	}
	if ct := ex.req.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		mt = strings.TrimSpace(strings.ToLower(mt))
		// curl -d sends application/x-www-form-urlencoded unless told
		// otherwise, and Triton takes any type: refuse only bodies that
		// say they are something else (binary, multipart, images...).
		if mt != "application/json" && !strings.HasSuffix(mt, "+json") && mt != "text/plain" &&
			mt != "application/x-www-form-urlencoded" {
			return errorf(KindUnsupportedMedia, "content type %q is not supported, send application/json", mt)
		}
	}
	if len(ex.req.Body) == 0 {
		return errorf(KindBadRequest, "the request has no body")
	}
	return nil
}

// jsonResponse builds a JSON answer with extra headers.
func jsonResponse(status int, body []byte, extra http.Header) Response {
	h := make(http.Header, len(extra)+1)
	for k, v := range extra {
		h[k] = v
	}
	h.Set("Content-Type", "application/json")
	return Response{Status: status, Header: h, Body: body}
}

// errorResponse writes {"error": "..."} with the kind's status; extra
// headers (quota, version) come first, the error's own headers on top.
func errorResponse(e *Error, extra http.Header) Response {
	h := make(http.Header, len(extra)+len(e.Header)+1)
	for k, v := range extra {
		h[k] = v
	}
	for k, v := range e.Header {
		h[k] = v
	}
	h.Set("Content-Type", "application/json")
	body := appendJSONString([]byte(`{"error":`), e.Message)
	body = append(body, '}')
	return Response{Status: statusOf(e.Kind), Header: h, Body: body}
}

// ErrorResponse is the answer for an error of kind k with the client
// message msg, for front-ends (the Kong adapter, modelgate serve) that
// refuse a request before the gateway sees it: the status still comes from
// the one mapping of kinds to statuses.
func ErrorResponse(k Kind, msg string) Response {
	return errorResponse(&Error{Kind: k, Message: msg}, nil)
}
