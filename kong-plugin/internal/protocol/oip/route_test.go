package oip

import (
	"net/http"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// parseRoute matches a path as a front-end serving this protocol alone does.
func parseRoute(method, path string) (route, *protocol.Error) {
	ep, err := protocol.Router{Protocol{}}.Route(method, path)
	if err != nil {
		return route{}, err
	}
	return ep.(route), nil
}

func TestParseRoute(t *testing.T) {
	tests := []struct {
		method, path string
		want         route
		kind         protocol.Kind // protocol.KindInternal = no error expected
	}{
		{"GET", "/v2/health/live", route{endpoint: epHealthLive}, protocol.KindInternal},
		{"GET", "/v2/health/ready", route{endpoint: epHealthReady}, protocol.KindInternal},
		{"GET", "/v2", route{endpoint: epServerMetadata}, protocol.KindInternal},
		{"GET", "/v2/models/adder", route{endpoint: epModelMetadata, model: "adder"}, protocol.KindInternal},
		{"GET", "/v2/models/adder/versions/2", route{endpoint: epModelMetadata, model: "adder", version: "2"}, protocol.KindInternal},
		{"GET", "/v2/models/adder/ready", route{endpoint: epModelReady, model: "adder"}, protocol.KindInternal},
		{"GET", "/v2/models/adder/versions/3/ready", route{endpoint: epModelReady, model: "adder", version: "3"}, protocol.KindInternal},
		{"POST", "/v2/models/adder/infer", route{endpoint: epInfer, model: "adder"}, protocol.KindInternal},
		{"POST", "/v2/models/adder/versions/1/infer", route{endpoint: epInfer, model: "adder", version: "1"}, protocol.KindInternal},
		{"POST", "/v2/repository/index", route{endpoint: epRepositoryIndex}, protocol.KindInternal},
		// A route prefix Kong kept is skipped.
		{"POST", "/ml/v2/models/adder/infer", route{endpoint: epInfer, model: "adder"}, protocol.KindInternal},
		{"HEAD", "/v2/health/live", route{endpoint: epHealthLive}, protocol.KindInternal},

		{"GET", "/v2/models/adder/infer", route{}, protocol.KindMethodNotAllowed},
		{"POST", "/v2/health/live", route{}, protocol.KindMethodNotAllowed},
		{"GET", "/", route{}, protocol.KindNotFound},
		{"GET", "/v3/models/x", route{}, protocol.KindNotFound},
		{"GET", "/v2/models", route{}, protocol.KindNotFound},
		{"POST", "/v2/models/adder/explain", route{}, protocol.KindNotFound},
		{"POST", "/v2/models/../infer", route{}, protocol.KindBadRequest},
		{"POST", "/v2/models/a..b/infer", route{}, protocol.KindBadRequest},
		{"POST", "/v2/models/adder/versions/../infer", route{}, protocol.KindBadRequest},
	}
	for _, tt := range tests {
		got, err := parseRoute(tt.method, tt.path)
		if tt.kind == protocol.KindInternal {
			if err != nil {
				t.Errorf("%s %s: %v", tt.method, tt.path, err)
			} else if got != tt.want {
				t.Errorf("%s %s = %+v, want %+v", tt.method, tt.path, got, tt.want)
			}
			continue
		}
		if err == nil || err.Kind != tt.kind {
			t.Errorf("%s %s: error %v, want kind %d", tt.method, tt.path, err, tt.kind)
		}
		if tt.kind == protocol.KindMethodNotAllowed && err != nil && err.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tt.method, tt.path)
		}
	}
	_ = http.MethodGet
}
