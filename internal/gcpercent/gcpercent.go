// Package gcpercent sets the garbage collector's target for modelgate's
// servers (the plugin server, `modelgate serve`, the sidecar) where the
// operator has not: GOGC in the environment always wins.
//
// Go's default, GOGC=100, starts a collection each time the heap doubles.
// These servers keep a small live heap (about 5 MiB under load) and
// allocate a little for every request, so at 100 they collect every 150
// or so requests, and each collection's fixed work (stacks, the goroutines
// of 64 clients) is paid that often: 14% of serve's CPU and 9% of the
// sidecar's in BenchmarkServeText's profiles. At 400 the heap may grow to
// five times the live heap before a collection (about 30 MiB instead of
// 11), and BenchmarkServeText used 15% less CPU in serve and 11% less in
// the sidecar per request.
package gcpercent

import (
	"os"
	"runtime/debug"
	"strconv"
)

// Default is the GOGC the servers run with when the environment sets none.
const Default = 400

// Apply sets the collector's target to Default unless GOGC is set (the Go
// runtime has applied it already). It returns the target in effect, -1
// for GOGC=off, and where it came from: "GOGC" or "default".
func Apply() (percent int, source string) {
	if v := os.Getenv("GOGC"); v != "" {
		if v == "off" {
			return -1, "GOGC"
		}
		if p, err := strconv.Atoi(v); err == nil {
			return p, "GOGC"
		}
		// The runtime ignores a GOGC it cannot read, and so does this.
	}
	debug.SetGCPercent(Default)
	return Default, "default"
}
