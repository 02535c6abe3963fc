// Package routetest holds what the protocols' route fuzz targets check
// alike: a path a router refuses is refused as a client error.
package routetest

import (
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// CheckRefusal fails t unless err, a router's refusal of path, is a 404 or
// a 400, or a 405 naming exactly one allowed method.
func CheckRefusal(t testing.TB, path string, err *protocol.Error) {
	t.Helper()
	switch err.Kind {
	case protocol.KindNotFound, protocol.KindBadRequest:
	case protocol.KindMethodNotAllowed:
		if len(err.Header.Values("Allow")) != 1 {
			t.Fatalf("405 without one Allow header: %v", err.Header)
		}
	default:
		t.Fatalf("path %q: error kind %d, want 404, 400 or 405", path, err.Kind)
	}
}
