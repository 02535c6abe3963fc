package protocol

import (
	"fmt"
	"net/http"
)

// Kind classifies every error a client can see; Status maps each kind to
// one HTTP status, in one place.
type Kind int

// The kinds of error a request can end with.
const (
	KindInternal         Kind = iota // a bug or an unexpected sidecar answer: 500
	KindBadRequest                   // malformed JSON, shape or data mismatch: 400
	KindUnauthorized                 // no or bad credentials: 401
	KindForbidden                    // the consumer may not use the model: 403
	KindNotFound                     // unknown path, model, version or alias: 404
	KindMethodNotAllowed             // right path, wrong method: 405
	KindTooLarge                     // body over limits.max_body_bytes: 413
	KindUnsupportedMedia             // a body that is not JSON: 415
	KindRateLimited                  // a quota window is exhausted: 429
	KindUnavailable                  // sidecar down, Redis down (not fault tolerant): 503
	KindOverloaded                   // sidecar queue full (RESOURCE_EXHAUSTED): 503
	KindTimeout                      // the request's deadline passed: 504
	KindClientClosed                 // the client went away before the answer: 499, as nginx logs it
)

// statusClientClosed is nginx's own code for a request whose client closed
// the connection first; no client reads it, the access log and metrics do.
const statusClientClosed = 499

// Status is the HTTP status of an error of kind k.
func Status(k Kind) int {
	switch k {
	case KindBadRequest:
		return http.StatusBadRequest
	case KindUnauthorized:
		return http.StatusUnauthorized
	case KindForbidden:
		return http.StatusForbidden
	case KindNotFound:
		return http.StatusNotFound
	case KindMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case KindUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case KindRateLimited:
		return http.StatusTooManyRequests
	case KindUnavailable, KindOverloaded:
		return http.StatusServiceUnavailable
	case KindTimeout:
		return http.StatusGatewayTimeout
	case KindClientClosed:
		return statusClientClosed
	default:
		return http.StatusInternalServerError
	}
}

// Error is an error with a kind: Message is what the client reads, Err the
// cause the log reads, Header what the answer adds (Retry-After, WWW-Authenticate).
type Error struct {
	Kind    Kind
	Message string
	Err     error
	Header  http.Header
}

// Error is the client message and the cause, for the log.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

// Unwrap is the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds a client-facing error of kind k.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Wrap builds an error of kind k whose client message is msg and whose cause is err.
func Wrap(k Kind, msg string, err error) *Error {
	return &Error{Kind: k, Message: msg, Err: err}
}

// RetryAfter returns a header with Retry-After set to secs.
func RetryAfter(secs int) http.Header {
	return http.Header{"Retry-After": []string{fmt.Sprint(secs)}}
}
