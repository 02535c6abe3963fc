// Package protocol is the contract between the modelgate core and the wire
// protocols it speaks: a front-end's Request and Response, the Router that
// gives a path to the protocol owning it, what a protocol asks of the core
// for one request (Exchange, InferRequest, Codec), and the errors with
// kinds that both sides return, mapped to one HTTP status each (errors.go).
// It decides nothing: the core (package core) decides, each protocol
// (protocol/oip, protocol/tfserving) decodes into it and encodes from it.
package protocol

import (
	"encoding/json"
	"net/http"
	"time"
)

// Version is the plugin's version, as go-pdk reports it to Kong and
// server metadata reports it to clients.
const Version = "0.1.0"

// Request is one client request as the gateway sees it.
type Request struct {
	Method string
	// Path is the request path as Kong hands it over (see Router.Route for
	// how a kept or stripped route prefix is handled).
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
	// ReadBody, when set, fetches the body once the caller is
	// authenticated; a front-end whose body read costs something (a Kong
	// PDK round trip) sets it instead of Body. An error is answered 413:
	// the front-end could not hold the body.
	ReadBody func() ([]byte, error)
	// Deadline is a front-end's own deadline for the request, capped by
	// limits.max_timeout; zero means limits.default_timeout. The Kong
	// adapter and modelgate serve leave it zero: a client asks for its
	// deadline in the infer body (parameters.timeout), which the core reads.
	Deadline time.Time
	// ClientIP makes an anonymous client's split arm sticky (see
	// core.Gateway.UsesClientIP); empty when the front-end does not know it.
	ClientIP string
}

// Response is the answer to send.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Consumer is the authenticated consumer ("" when none), for
	// kong.client.authenticate.
	Consumer string
	// Audit is the request's audit record; zero for the public endpoints
	// (health, server metadata).
	Audit Audit
}

// JSONResponse builds a JSON answer with extra headers. Its header has
// room for two more (an inference answer adds Vary), so that adding them
// does not grow the map.
func JSONResponse(status int, body []byte, extra http.Header) Response {
	h := make(http.Header, len(extra)+2)
	for k, v := range extra {
		h[k] = v
	}
	h[headerContentType] = []string{"application/json"}
	return Response{Status: status, Header: h, Body: body}
}

// headerContentType is spelled canonically: answers assign it directly
// rather than through Header.Set.
const headerContentType = "Content-Type"

// ErrorAnswer writes {"error": "..."} with the kind's status; extra
// headers (quota, version) come first, the error's own headers on top.
func ErrorAnswer(e *Error, extra http.Header) Response {
	h := make(http.Header, len(extra)+len(e.Header)+1)
	for k, v := range extra {
		h[k] = v
	}
	for k, v := range e.Header {
		h[k] = v
	}
	h[headerContentType] = []string{"application/json"}
	body := AppendJSONString([]byte(`{"error":`), e.Message)
	body = append(body, '}')
	return Response{Status: Status(e.Kind), Header: h, Body: body}
}

// ErrorResponse is the answer for an error of kind k with the client
// message msg, for front-ends (the Kong adapter, modelgate serve) that
// refuse a request before the gateway sees it: the status still comes from
// the one mapping of kinds to statuses.
func ErrorResponse(k Kind, msg string) Response {
	return ErrorAnswer(&Error{Kind: k, Message: msg}, nil)
}

// AppendJSONString appends s as a JSON string.
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			q, _ := json.Marshal(s) // rare: escapes or non-ASCII
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
