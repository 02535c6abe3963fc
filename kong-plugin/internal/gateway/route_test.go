package gateway

import (
	"net/http"
	"testing"
)

func TestParseRoute(t *testing.T) {
	tests := []struct {
		method, path string
		want         route
		kind         Kind // KindInternal = no error expected
	}{
		{"GET", "/v2/health/live", route{endpoint: epHealthLive}, KindInternal},
		{"GET", "/v2/health/ready", route{endpoint: epHealthReady}, KindInternal},
		{"GET", "/v2", route{endpoint: epServerMetadata}, KindInternal},
		{"GET", "/v2/models/adder", route{endpoint: epModelMetadata, model: "adder"}, KindInternal},
		{"GET", "/v2/models/adder/versions/2", route{endpoint: epModelMetadata, model: "adder", version: "2"}, KindInternal},
		{"GET", "/v2/models/adder/ready", route{endpoint: epModelReady, model: "adder"}, KindInternal},
		{"GET", "/v2/models/adder/versions/3/ready", route{endpoint: epModelReady, model: "adder", version: "3"}, KindInternal},
		{"POST", "/v2/models/adder/infer", route{endpoint: epInfer, model: "adder"}, KindInternal},
		{"POST", "/v2/models/adder/versions/1/infer", route{endpoint: epInfer, model: "adder", version: "1"}, KindInternal},
		{"POST", "/v2/repository/index", route{endpoint: epRepositoryIndex}, KindInternal},
		{"POST", "/v1/models/sentiment:predict", route{endpoint: epPredict, model: "sentiment"}, KindInternal},
		{"POST", "/v1/models/sentiment/versions/2:predict", route{endpoint: epPredict, model: "sentiment", version: "2"}, KindInternal},
		{"POST", "/v1/models/sentiment/labels/canary:predict", route{endpoint: epPredict, model: "sentiment", alias: "canary"}, KindInternal},
		// A route prefix Kong kept is skipped.
		{"POST", "/ml/v2/models/adder/infer", route{endpoint: epInfer, model: "adder"}, KindInternal},
		{"POST", "/api/ml/v1/models/m:predict", route{endpoint: epPredict, model: "m"}, KindInternal},
		{"HEAD", "/v2/health/live", route{endpoint: epHealthLive}, KindInternal},

		{"GET", "/v2/models/adder/infer", route{}, KindMethodNotAllowed},
		{"POST", "/v2/health/live", route{}, KindMethodNotAllowed},
		{"GET", "/v1/models/m:predict", route{}, KindMethodNotAllowed},
		{"GET", "/", route{}, KindNotFound},
		{"GET", "/v3/models/x", route{}, KindNotFound},
		{"GET", "/v2/models", route{}, KindNotFound},
		{"POST", "/v2/models/adder/explain", route{}, KindNotFound},
		{"POST", "/v1/models/m:classify", route{}, KindNotFound},
		{"POST", "/v1/models/m/versions:predict", route{}, KindNotFound},
		{"POST", "/v2/models/../infer", route{}, KindBadRequest},
		{"POST", "/v2/models/a..b/infer", route{}, KindBadRequest},
		{"POST", "/v2/models/adder/versions/../infer", route{}, KindBadRequest},
		{"POST", "/v1/models/m/labels/..:predict", route{}, KindBadRequest},
	}
	for _, tt := range tests {
		got, err := parseRoute(tt.method, tt.path)
		if tt.kind == KindInternal {
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
		if tt.kind == KindMethodNotAllowed && err != nil && err.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tt.method, tt.path)
		}
	}
	_ = http.MethodGet
}
