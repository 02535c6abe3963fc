package protocol

import (
	"context"
	"net/http"
	"strings"

	"github.com/modelgate/modelgate/kong-plugin/internal/config"
)

// Protocol is one wire protocol: it owns the paths under its API segment
// and turns each into an Endpoint.
type Protocol interface {
	// API is the path segment the protocol's paths start with ("v2").
	API() string
	// Route matches method and rest, the path after the API segment
	// ("/models/m/infer"); path is the whole path, for messages.
	Route(method, path, rest string) (Endpoint, *Error)
}

// Endpoint is a matched path, ready to serve.
type Endpoint interface {
	// Model is the model the path names, "" for none: the core counts the
	// answer under it.
	Model() string
	// Public endpoints (health, server metadata) answer without
	// credentials and without reading the body.
	Public() bool
	// Serve answers the request, asking the core through ex.
	Serve(ctx context.Context, ex Exchange, req *Request) (Response, error)
}

// Router is the protocols a front-end serves. A new protocol is one more
// entry: the core never names one.
type Router []Protocol

// Route matches the path as Kong hands it over. Kong may strip the route's
// own prefix or keep it, so the API is found at the first segment that
// names one ("/v2/", "/v1/"): "/v2/models/m/infer", "/ml/v2/models/m/infer"
// (a kept prefix) and "/v2/health/live" all work. Routes should therefore
// keep the /v1 and /v2 segments (strip_path: false, or a prefix before them).
func (r Router) Route(method, path string) (Endpoint, *Error) {
	for i := 0; i+1 < len(path); i++ {
		if path[i] != '/' {
			continue
		}
		seg := path[i+1:]
		for _, p := range r {
			api := p.API()
			if strings.HasPrefix(seg, api) && (len(seg) == len(api) || seg[len(api)] == '/') {
				return p.Route(method, path, seg[len(api):])
			}
		}
	}
	return nil, Errorf(KindNotFound, "no such endpoint: %s", path)
}

// Segments splits the rest of a path into its segments; none for "" or "/".
func Segments(rest string) []string {
	if rest == "" || rest == "/" {
		return nil
	}
	return strings.Split(strings.Trim(rest, "/"), "/")
}

// CheckMethod refuses a method other than want (HEAD passes for GET) with
// a 405 that names want in Allow.
func CheckMethod(path, method, want string) *Error {
	if method == want || (want == http.MethodGet && method == http.MethodHead) {
		return nil
	}
	e := Errorf(KindMethodNotAllowed, "%s wants %s, not %s", path, want, method)
	e.Header = http.Header{"Allow": []string{want}}
	return e
}

// NotFound is the 404 for path segments no endpoint matches.
func NotFound(segs []string) *Error {
	return Errorf(KindNotFound, "no such endpoint: /%s", strings.Join(segs, "/"))
}

// CheckName refuses a model, version or label name that could not be
// configured: names reach the sidecar and Redis keys, never a path piece.
func CheckName(what, s string) *Error {
	if !config.ValidName(s) {
		return Errorf(KindBadRequest, "%q is not a valid %s name", s, what)
	}
	return nil
}
