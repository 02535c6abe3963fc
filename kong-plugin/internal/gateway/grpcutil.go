package gateway

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// grpcCode is the bounded label for the sidecar latency histogram.
func grpcCode(err error) string {
	if err == nil {
		return codes.OK.String()
	}
	if _, ok := err.(*Error); ok {
		return "UNAVAILABLE"
	}
	return status.Code(err).String()
}

func isUnavailable(err error) bool {
	return status.Code(err) == codes.Unavailable
}
