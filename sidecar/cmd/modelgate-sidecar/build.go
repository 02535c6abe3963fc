package main

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/modelgate/modelgate/internal/version"
	"github.com/modelgate/modelgate/shared"
	"github.com/modelgate/modelgate/shared/pb"
)

// buildCheck is the sidecar's half of the build handshake (see
// shared.BuildMetadataKey): a call that names a client build the sidecar is
// not compatible with is refused, and ServerLive, the call a client attaches
// with, answers with the sidecar's own build so the client can refuse in
// turn. Calls without the key (go-plugin's launch, probes) pass.
func buildCheck() grpc.ServerOption {
	own := version.Build()
	return grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			if theirs := md.Get(shared.BuildMetadataKey); len(theirs) > 0 {
				if err := version.Compatible(own, theirs[0]); err != nil {
					return nil, status.Errorf(codes.FailedPrecondition,
						"modelgate-sidecar build %s refuses a plugin server of build %s; run both of the same release", own, theirs[0])
				}
			}
		}
		if info.FullMethod == pb.Inference_ServerLive_FullMethodName {
			_ = grpc.SetHeader(ctx, metadata.Pairs(shared.BuildMetadataKey, own))
		}
		return handler(ctx, req)
	})
}
