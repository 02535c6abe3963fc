package server

import (
	"context"
	"log/slog"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Recover returns the gRPC server options that turn a panic in a handler
// into an INTERNAL error for that one call. grpc-go recovers nothing: without
// them a panic kills the sidecar and every request in flight on the node.
// The client reads a short message; the log gets the panic and its stack.
func Recover(log *slog.Logger) []grpc.ServerOption {
	failed := func(method string, p any) error { return panicked(log, method, p) }
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				resp, err = nil, failed(info.FullMethod, p)
			}
		}()
		return handler(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = failed(info.FullMethod, p)
			}
		}()
		return handler(srv, ss)
	}
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(unary), grpc.ChainStreamInterceptor(stream)}
}

// panicked logs a recovered panic p in a handler of method, with its
// stack, and returns the INTERNAL error the call fails with.
func panicked(log *slog.Logger, method string, p any) error {
	log.Error("panic in a gRPC handler; the call fails, the sidecar goes on",
		"method", method, "panic", p, "stack", string(debug.Stack()))
	return status.Error(codes.Internal, "internal error in the sidecar (see its log)")
}
