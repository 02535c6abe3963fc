package tfserving

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol/routetest"
)

// Fuzz targets for what a client controls byte for byte: the predict body
// and the request path. `make test` runs each for a few seconds; the seed
// corpus is in testdata/fuzz.

// parseRoute matches a path as a front-end serving this protocol alone does.
func parseRoute(method, path string) (route, *protocol.Error) {
	ep, err := protocol.Router{Protocol{}}.Route(method, path)
	if err != nil {
		return route{}, err
	}
	return ep.(route), nil
}

func FuzzParseRoute(f *testing.F) {
	for _, p := range []string{
		"/v2/models/sentiment/infer", "/v2/models/sentiment/versions/2/infer", "/v2/health/ready",
		"/v2/models/m/versions/1/ready", "/v2/repository/index", "/ml/v2/models/m", "/v2",
		"/v1/models/sentiment:predict", "/v1/models/sentiment/labels/stable:predict",
		"/v1/models/sentiment/versions/1:predict", "/v2/models/../infer", "/v2/models/a/versions/..%2F/infer",
		"/v2/models//infer", "/v1/models/a/b/c:predict", "/v1/models/:predict", "//v2//models//x//infer",
	} {
		f.Add(http.MethodPost, p)
		f.Add(http.MethodGet, p)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		r, gerr := parseRoute(method, path)
		if gerr != nil {
			routetest.CheckRefusal(t, path, gerr)
			return
		}
		for what, name := range map[string]string{"model": r.model, "version": r.version, "alias": r.alias} {
			if name == "" {
				continue
			}
			// A name reaches the sidecar and Redis keys: never a path piece.
			if !config.ValidName(name) || strings.Contains(name, "/") || strings.Contains(name, "..") {
				t.Fatalf("path %q gave %s %q", path, what, name)
			}
		}
		if method != http.MethodPost {
			t.Fatalf("%s %q routed to inference", method, path)
		}
		if r.model == "" {
			t.Fatalf("path %q routed to inference without a model", path)
		}
	})
}

func FuzzDecodePredict(f *testing.F) {
	for _, s := range []string{`{"text":"great movie"}`, `{"instances":[[1,2],[3,4]]}`, `{"instances":[{"a":1}]}`,
		`{"text":"x","instances":[1]}`, `{"instances":[]}`, `{}`, `[`, `{"text":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		samePredictAsEncodingJSON(t, body)
		instances, gerr := decodePredict(body)
		if gerr != nil {
			if gerr.Kind != protocol.KindBadRequest {
				t.Fatalf("a bad predict body must be a 400, got kind %d", gerr.Kind)
			}
			return
		}
		if len(instances) == 0 {
			t.Fatal("accepted a predict body without instances")
		}
		for i, in := range instances {
			if !json.Valid(in) {
				t.Fatalf("instance %d is not JSON: %q", i, in)
			}
		}
	})
}
