package tfserving

import (
	"net/http"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

func TestParseRoute(t *testing.T) {
	tests := []struct {
		method, path string
		want         route
		kind         protocol.Kind // protocol.KindInternal = no error expected
	}{
		{"POST", "/v1/models/sentiment:predict", route{model: "sentiment"}, protocol.KindInternal},
		{"POST", "/v1/models/sentiment/versions/2:predict", route{model: "sentiment", version: "2"}, protocol.KindInternal},
		{"POST", "/v1/models/sentiment/labels/canary:predict", route{model: "sentiment", alias: "canary"}, protocol.KindInternal},
		// A route prefix Kong kept is skipped.
		{"POST", "/api/ml/v1/models/m:predict", route{model: "m"}, protocol.KindInternal},

		{"GET", "/v1/models/m:predict", route{}, protocol.KindMethodNotAllowed},
		{"POST", "/v1/models/m:classify", route{}, protocol.KindNotFound},
		{"POST", "/v1/models/m/versions:predict", route{}, protocol.KindNotFound},
		{"POST", "/v1/models/m/labels/..:predict", route{}, protocol.KindBadRequest},
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
