package core

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// grpcCode is the bounded label for the sidecar latency histogram.
func grpcCode(err error) string {
	if err == nil {
		return codes.OK.String()
	}
	if _, ok := err.(*protocol.Error); ok {
		return "UNAVAILABLE"
	}
	return status.Code(err).String()
}

func isUnavailable(err error) bool {
	return status.Code(err) == codes.Unavailable
}

// fromSidecar classifies an error from a sidecar call. The sidecar's
// messages for client mistakes (INVALID_ARGUMENT, NOT_FOUND) are meant for
// the client; other causes stay in the log.
func fromSidecar(ctx context.Context, err error) *protocol.Error {
	var ge *protocol.Error
	if errors.As(err, &ge) {
		return ge
	}
	if ctx.Err() == context.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded) {
		return protocol.Wrap(protocol.KindTimeout, "the model did not answer within the request's timeout", err)
	}
	if ctx.Err() == context.Canceled {
		return protocol.Wrap(protocol.KindClientClosed, "the client closed the request", err)
	}
	st, ok := status.FromError(err)
	if !ok {
		return protocol.Wrap(protocol.KindInternal, "internal error", err)
	}
	switch st.Code() {
	case codes.InvalidArgument, codes.OutOfRange:
		return protocol.Wrap(protocol.KindBadRequest, st.Message(), err)
	case codes.NotFound:
		return protocol.Wrap(protocol.KindNotFound, st.Message(), err)
	case codes.ResourceExhausted:
		e := protocol.Wrap(protocol.KindOverloaded, "the model is overloaded, retry later", err)
		e.Header = protocol.RetryAfter(1)
		return e
	case codes.DeadlineExceeded:
		return protocol.Wrap(protocol.KindTimeout, "the model did not answer within the request's timeout", err)
	case codes.Unavailable, codes.Canceled:
		e := protocol.Wrap(protocol.KindUnavailable, "the inference server is unavailable, retry later", err)
		e.Header = protocol.RetryAfter(1)
		return e
	default:
		return protocol.Wrap(protocol.KindInternal, "internal error", err)
	}
}
