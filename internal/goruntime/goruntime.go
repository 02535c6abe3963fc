// Package goruntime sets the Go runtime's defaults for modelgate's servers
// (the plugin server, `modelgate serve`, the sidecar) where the operator has
// not: GOGC and GOMAXPROCS in the environment always win.
package goruntime

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
)

// GCPercent is the GOGC the servers run with when the environment sets
// none.
//
// Go's default, GOGC=100, starts a collection each time the heap doubles.
// These servers keep a small live heap (about 5 MiB under load) and
// allocate a little for every request, so at 100 they collect every 150
// or so requests, and each collection's fixed work (stacks, the goroutines
// of 64 clients) is paid that often: 14% of serve's CPU and 9% of the
// sidecar's in BenchmarkServeText's profiles. At 400 the heap may grow to
// five times the live heap before a collection (about 30 MiB instead of
// 11), and BenchmarkServeText used 15% less CPU in serve and 11% less in
// the sidecar per request; 1000 measured no better than 400.
const GCPercent = 400

// Settings are what Apply chose, and where each came from: "GOGC" or
// "GOMAXPROCS" (the environment), or "default".
type Settings struct {
	GCPercent   int // -1 for GOGC=off
	GCSource    string
	Procs       int
	ProcsSource string
}

// Apply sets the collector's target to GCPercent unless GOGC is set, and,
// for a process that shares the node's cores with another server of the
// pair (shared), GOMAXPROCS to half the cores it may use, at least 1,
// unless GOMAXPROCS is set (the runtime has applied either already).
//
// Half, because the gateway and a sidecar it launches run on the same
// cores, each with work to do on every request, and under Kong so do
// nginx's workers: a process that may run on every core wakes an idle one
// for each goroutine it readies, and the requests of the pair hand work
// across goroutines and sockets many times each. On a 2-core virtual
// machine (where a wake-up costs a cross-core interrupt) one P for each of
// serve and the sidecar took BenchmarkServeText1's latency from 670 to 460
// µs and its CPU per request down by a third; the sidecar's threads.Plan
// gives ONNX Runtime the other half.
func Apply(shared bool) Settings {
	s := Settings{GCPercent: GCPercent, GCSource: "default", Procs: runtime.GOMAXPROCS(0), ProcsSource: "default"}
	if v := os.Getenv("GOGC"); v == "off" {
		s.GCPercent, s.GCSource = -1, "GOGC"
	} else if p, err := strconv.Atoi(v); err == nil {
		s.GCPercent, s.GCSource = p, "GOGC"
	} else {
		// Unset, or a value the runtime ignores too.
		debug.SetGCPercent(GCPercent)
	}
	switch {
	case os.Getenv("GOMAXPROCS") != "":
		s.ProcsSource = "GOMAXPROCS"
	case shared:
		s.Procs = max(s.Procs/2, 1)
		runtime.GOMAXPROCS(s.Procs)
	}
	return s
}

// Log writes the settings in effect as one line.
func (s Settings) Log(log *slog.Logger) {
	log.Info("Go runtime", "gogc", s.GCPercent, "gogc_source", s.GCSource, "gomaxprocs", s.Procs, "gomaxprocs_source", s.ProcsSource)
}
