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

// streamWorkers is how many goroutines serve gRPC streams and are kept for
// the next stream; a stream that finds none free gets a goroutine of its
// own, as every stream does by default. A request that finds its model's
// instance idle runs ONNX Runtime on its stream's goroutine (batch's inline
// run), deep in the call chain, and a new goroutine's small stack grew and
// was copied to the depth that needs on every such request: 18-20% of the
// sidecar's CPU at 64 clients in BenchmarkServeText's profile, about 2%
// with 128 workers, whose stacks stay grown between requests (the sidecar
// 10% less CPU per request). 128 covers the streams a gateway keeps open
// at once at 64 clients with room; an idle worker costs its small stack.
const streamWorkers = 128

// streamWorkerPool is the server option for streamWorkers.
func streamWorkerPool() grpc.ServerOption { return grpc.NumStreamWorkers(streamWorkers) }
