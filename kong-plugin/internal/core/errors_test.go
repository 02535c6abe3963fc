package core

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

func TestSidecarErrorsMapToStatuses(t *testing.T) {
	tests := []struct {
		err        error
		status     int
		retryAfter bool
	}{
		{status.Error(codes.InvalidArgument, "bad shape"), http.StatusBadRequest, false},
		{status.Error(codes.NotFound, "no model"), http.StatusNotFound, false},
		{status.Error(codes.ResourceExhausted, "queue full"), http.StatusServiceUnavailable, true},
		{status.Error(codes.DeadlineExceeded, "late"), http.StatusGatewayTimeout, false},
		{status.Error(codes.Unavailable, "down"), http.StatusServiceUnavailable, true},
		{status.Error(codes.Internal, "boom"), http.StatusInternalServerError, false},
		{errors.New("plain"), http.StatusInternalServerError, false},
		{protocol.Errorf(protocol.KindForbidden, "no"), http.StatusForbidden, false},
	}
	for _, tt := range tests {
		e := fromSidecar(context.Background(), tt.err)
		res := protocol.ErrorAnswer(e, http.Header{"X-Model-Version": {"2"}})
		if res.Status != tt.status {
			t.Errorf("%v: status %d, want %d", tt.err, res.Status, tt.status)
		}
		if got := res.Header.Get("Retry-After") != ""; got != tt.retryAfter {
			t.Errorf("%v: Retry-After present %v, want %v", tt.err, got, tt.retryAfter)
		}
		if res.Header.Get("Content-Type") != "application/json" || res.Header.Get("X-Model-Version") != "2" {
			t.Errorf("%v: headers %v", tt.err, res.Header)
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel()
	if e := fromSidecar(ctx, status.Error(codes.Canceled, "x")); protocol.Status(e.Kind) != http.StatusGatewayTimeout {
		t.Errorf("expired request: %d, want 504", protocol.Status(e.Kind))
	}
	gone, leave := context.WithCancel(context.Background())
	leave()
	if e := fromSidecar(gone, status.Error(codes.Canceled, "x")); protocol.Status(e.Kind) != 499 {
		t.Errorf("request the client closed: %d, want 499 (nginx's client closed request)", protocol.Status(e.Kind))
	}
	if e := fromSidecar(context.Background(), status.Error(codes.Canceled, "x")); protocol.Status(e.Kind) != http.StatusServiceUnavailable {
		t.Errorf("sidecar-side cancel with the client still there: %d, want 503", protocol.Status(e.Kind))
	}
	// Client messages are JSON-escaped.
	res := protocol.ErrorAnswer(protocol.Errorf(protocol.KindBadRequest, `say "hi"`), nil)
	if string(res.Body) != `{"error":"say \"hi\""}` {
		t.Errorf("body %s", res.Body)
	}
}
