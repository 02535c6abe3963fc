package main

import (
	"math"

	"google.golang.org/grpc"
)

// minWindow is the smallest flow-control window gRPC takes as static (below
// it, it keeps its default window and the BDP estimator).
const minWindow = 64 << 10

// flowControl sets a static flow-control window as large as the largest
// message (maxMessageBytes). That turns off gRPC's bandwidth-delay-product
// estimator, which otherwise sends a PING (and reads its ACK) along with
// data, and spares the WINDOW_UPDATE frames a default 64 KiB window needs
// mid-message: fewer frames and syscalls per request on a socket whose
// bandwidth is not in question. The window is credit, not a buffer: memory
// still follows the bytes that arrive, bounded by the message size.
func flowControl(maxMessageBytes int) []grpc.ServerOption {
	window := int32(min(max(maxMessageBytes, minWindow), math.MaxInt32))
	return []grpc.ServerOption{grpc.InitialWindowSize(window), grpc.InitialConnWindowSize(window)}
}
