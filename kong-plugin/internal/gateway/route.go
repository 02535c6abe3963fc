package gateway

import (
	"net/http"
	"strings"

	"github.com/modelgate/modelgate/kong-plugin/internal/config"
)

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
	epPredict
)

// route is a parsed request path.
type route struct {
	endpoint endpoint
	model    string
	// version is an explicit version from the URL; alias one from /labels/{alias}.
	version string
	alias   string
}

// inference reports whether the route runs the model (and so takes quota).
func (r route) inference() bool { return r.endpoint == epInfer || r.endpoint == epPredict }

// parseRoute matches the path as Kong hands it over. Kong may strip the
// route's own prefix or keep it, so the API is found at the first "/v1/" or
// "/v2/" segment: "/v2/models/m/infer", "/ml/v2/models/m/infer" (a kept
// prefix) and "/v2/health/live" all work. Routes should therefore keep the
// /v1 and /v2 segments (strip_path: false, or a prefix before them).
func parseRoute(method, path string) (route, *Error) {
	api, rest, ok := findAPI(path)
	if !ok {
		return route{}, errorf(KindNotFound, "no such endpoint: %s", path)
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	if rest == "" || rest == "/" {
		segs = nil
	}
	var r route
	var want string
	var err *Error
	if api == "v2" {
		r, want, err = parseV2(segs)
	} else {
		r, want, err = parseV1(segs)
	}
	if err != nil {
		return route{}, err
	}
	if method != want && !(want == http.MethodGet && method == http.MethodHead) {
		e := errorf(KindMethodNotAllowed, "%s wants %s, not %s", path, want, method)
		e.Header = http.Header{"Allow": []string{want}}
		return route{}, e
	}
	return r, nil
}

func findAPI(path string) (api, rest string, ok bool) {
	for i := 0; i+3 <= len(path); i++ {
		if path[i] != '/' {
			continue
		}
		seg := path[i+1:]
		for _, v := range []string{"v2", "v1"} {
			if strings.HasPrefix(seg, v) && (len(seg) == 2 || seg[2] == '/') {
				return v, seg[2:], true
			}
		}
	}
	return "", "", false
}

func notFound(segs []string) *Error {
	return errorf(KindNotFound, "no such endpoint: /%s", strings.Join(segs, "/"))
}

// parseV2 matches the Open Inference Protocol paths and Triton's repository index.
func parseV2(segs []string) (route, string, *Error) {
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
		return route{}, "", notFound(segs)
	}
	r := route{model: segs[1]}
	if err := checkName("model", r.model); err != nil {
		return route{}, "", err
	}
	tail := segs[2:]
	if len(tail) >= 2 && tail[0] == "versions" {
		r.version = tail[1]
		if err := checkName("version", r.version); err != nil {
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
	return route{}, "", notFound(segs)
}

// parseV1 matches TF Serving's predict: /v1/models/{m}[/versions/{v}|/labels/{a}]:predict.
func parseV1(segs []string) (route, string, *Error) {
	if len(segs) < 2 || segs[0] != "models" {
		return route{}, "", notFound(segs)
	}
	last := segs[len(segs)-1]
	name, verb, ok := strings.Cut(last, ":")
	if !ok || verb != "predict" {
		return route{}, "", notFound(segs)
	}
	segs = append(append([]string{}, segs[:len(segs)-1]...), name)
	r := route{endpoint: epPredict, model: segs[1]}
	if err := checkName("model", r.model); err != nil {
		return route{}, "", err
	}
	switch {
	case len(segs) == 2:
	case len(segs) == 4 && segs[2] == "versions":
		r.version = segs[3]
		if err := checkName("version", r.version); err != nil {
			return route{}, "", err
		}
	case len(segs) == 4 && segs[2] == "labels":
		r.alias = segs[3]
		if err := checkName("label", r.alias); err != nil {
			return route{}, "", err
		}
	default:
		return route{}, "", notFound(segs)
	}
	return r, http.MethodPost, nil
}

func checkName(what, s string) *Error {
	if !config.ValidName(s) {
		return errorf(KindBadRequest, "%q is not a valid %s name", s, what)
	}
	return nil
}
