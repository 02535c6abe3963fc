// Package oip is the Open Inference Protocol (KServe v2) over HTTP with
// JSON tensors, as Triton serves it (Triton's docs/protocol/ and KServe's
// open inference REST spec): health, server and model metadata, readiness,
// Triton's repository index and inference under /v2. It decodes into the
// core (protocol.Exchange) and encodes from it; it decides nothing.
package oip

import (
	"net/http"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// Protocol is the Open Inference Protocol's entry in a protocol.Router.
type Protocol struct{}

// API is the segment the protocol's paths start with.
func (Protocol) API() string { return "v2" }

// endpoint is what a path asks for.
type endpoint int

const (
	epHealthLive endpoint = iota
	epHealthReady
	epServerMetadata
	epModelMetadata
	epModelReady
	epInfer
	epRepositoryIndex
)

// route is a parsed /v2 path; it is the protocol.Endpoint that serves it.
type route struct {
	endpoint endpoint
	model    string
	version  string // an explicit version from the path
}

// Route matches the Open Inference Protocol paths and Triton's repository index.
func (Protocol) Route(method, path, rest string) (protocol.Endpoint, *protocol.Error) {
	r, want, err := parse(protocol.Segments(rest))
	if err != nil {
		return nil, err
	}
	if err := protocol.CheckMethod(path, method, want); err != nil {
		return nil, err
	}
	return r, nil
}

func parse(segs []string) (route, string, *protocol.Error) {
	switch {
	case len(segs) == 0:
		return route{endpoint: epServerMetadata}, http.MethodGet, nil
	case len(segs) == 2 && segs[0] == "health" && segs[1] == "live":
		return route{endpoint: epHealthLive}, http.MethodGet, nil
	case len(segs) == 2 && segs[0] == "health" && segs[1] == "ready":
		return route{endpoint: epHealthReady}, http.MethodGet, nil
	case len(segs) == 2 && segs[0] == "repository" && segs[1] == "index":
		return route{endpoint: epRepositoryIndex}, http.MethodPost, nil
	case len(segs) >= 2 && segs[0] == "models":
	default:
		return route{}, "", protocol.NotFound(segs)
	}
	r := route{model: segs[1]}
	if err := protocol.CheckName("model", r.model); err != nil {
		return route{}, "", err
	}
	tail := segs[2:]
	if len(tail) >= 2 && tail[0] == "versions" {
		r.version = tail[1]
		if err := protocol.CheckName("version", r.version); err != nil {
			return route{}, "", err
		}
		tail = tail[2:]
	}
	switch {
	case len(tail) == 0:
		r.endpoint = epModelMetadata
		return r, http.MethodGet, nil
	case len(tail) == 1 && tail[0] == "ready":
		r.endpoint = epModelReady
		return r, http.MethodGet, nil
	case len(tail) == 1 && tail[0] == "infer":
		r.endpoint = epInfer
		return r, http.MethodPost, nil
	}
	return route{}, "", protocol.NotFound(segs)
}

// Model is the model the path names.
func (r route) Model() string { return r.model }

// Public reports whether the endpoint answers without credentials.
func (r route) Public() bool {
	return r.endpoint == epHealthLive || r.endpoint == epHealthReady || r.endpoint == epServerMetadata
}
