package auth

import "fmt"

// Reason is a bounded label saying why authentication failed; it is safe as a
// metric label value and in logs.
type Reason string

// The reasons Authenticate returns.
const (
	ReasonMissing         Reason = "missing"          // no credential in the request
	ReasonInvalidKey      Reason = "invalid_key"      // an API key that matches no consumer
	ReasonMalformed       Reason = "malformed"        // not a parseable JWT
	ReasonUnknownIssuer   Reason = "unknown_issuer"   // iss names no configured issuer
	ReasonBadAlgorithm    Reason = "bad_algorithm"    // alg none, or outside the issuer's list
	ReasonBadSignature    Reason = "bad_signature"    // signature does not verify with the issuer's keys
	ReasonExpired         Reason = "expired"          // exp passed (or missing: exp is required)
	ReasonNotYetValid     Reason = "not_yet_valid"    // nbf in the future
	ReasonBadAudience     Reason = "bad_audience"     // aud names none of the issuer's audiences
	ReasonUnknownConsumer Reason = "unknown_consumer" // consumer claim missing, or not listed and no default tier
	ReasonInvalidToken    Reason = "invalid_token"    // any other claim problem
)

// Reasons lists every Reason, for metrics that pre-create their label values.
func Reasons() []Reason {
	return []Reason{
		ReasonMissing, ReasonInvalidKey, ReasonMalformed, ReasonUnknownIssuer, ReasonBadAlgorithm,
		ReasonBadSignature, ReasonExpired, ReasonNotYetValid, ReasonBadAudience,
		ReasonUnknownConsumer, ReasonInvalidToken,
	}
}

// Error is an authentication failure: always HTTP 401. It never holds the
// credential or token; the cause is for logs, Message for the client.
type Error struct {
	// Reason says why, from a bounded set.
	Reason Reason
	// Bearer is true when the failure concerns a bearer token (JWT), false
	// for an API key; it picks the WWW-Authenticate challenge.
	Bearer bool
	cause  error
}

// Error describes the failure for logs: reason and cause, never the credential.
func (e *Error) Error() string {
	if e.cause == nil {
		return "auth: " + string(e.Reason)
	}
	return fmt.Sprintf("auth: %s: %v", e.Reason, e.cause)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.cause }

// Message is the short text for the client's `{"error": ...}` body, in the
// words of Kong's key-auth and jwt plugins.
func (e *Error) Message() string {
	switch e.Reason {
	case ReasonMissing:
		return "No API key or token found in request"
	case ReasonInvalidKey:
		return "Invalid authentication credentials"
	case ReasonExpired:
		return "Token expired"
	default:
		return "Invalid token"
	}
}

// WWWAuthenticate is the WWW-Authenticate header value for the 401, as Kong's
// key-auth (`Key realm=...`) and RFC 6750 bearer challenges read.
func (e *Error) WWWAuthenticate() string {
	if !e.Bearer {
		return `Key realm="` + Realm + `"`
	}
	if e.Reason == ReasonMissing {
		// RFC 6750 3.1: no error code when the request had no credential.
		return `Bearer realm="` + Realm + `"`
	}
	return `Bearer realm="` + Realm + `", error="invalid_token"`
}

// Realm is the realm of the WWW-Authenticate challenges.
const Realm = "modelgate"

func fail(reason Reason, bearer bool, cause error) *Error {
	return &Error{Reason: reason, Bearer: bearer, cause: cause}
}
