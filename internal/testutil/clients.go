package testutil

import (
	"runtime"
	"testing"
)

// RunClients runs do b.N times from clients goroutines at once (one: on the
// benchmark's own goroutine, so ns/op is one request's latency).
func RunClients(b *testing.B, clients int, do func()) {
	if clients <= 1 {
		for range b.N {
			do()
		}
		return
	}
	// SetParallelism multiplies GOMAXPROCS: clients at once on any machine.
	b.SetParallelism(max(clients/runtime.GOMAXPROCS(0), 1))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			do()
		}
	})
}
