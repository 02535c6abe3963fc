package goruntime

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// gcPercent reads the collector's target without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestApply(t *testing.T) {
	gcBefore, procsBefore := gcPercent(), runtime.GOMAXPROCS(0)
	t.Cleanup(func() { debug.SetGCPercent(gcBefore); runtime.GOMAXPROCS(procsBefore) })
	const cores = 4
	for _, c := range []struct {
		name        string
		gogc, procs string // the environment
		shared      bool
		want        Settings
		gcAfter     int // the collector's target after Apply
		procsAfter  int // GOMAXPROCS after Apply
	}{
		{name: "defaults, alone", want: Settings{GCPercent, "default", cores, "default"}, gcAfter: GCPercent, procsAfter: cores},
		{name: "defaults, shared", shared: true, want: Settings{GCPercent, "default", cores / 2, "default"}, gcAfter: GCPercent, procsAfter: cores / 2},
		{name: "GOGC set", gogc: "250", want: Settings{250, "GOGC", cores, "default"}, gcAfter: 100, procsAfter: cores},
		{name: "GOGC off", gogc: "off", want: Settings{-1, "GOGC", cores, "default"}, gcAfter: 100, procsAfter: cores},
		{name: "GOGC unreadable", gogc: "lots", want: Settings{GCPercent, "default", cores, "default"}, gcAfter: GCPercent, procsAfter: cores},
		{name: "GOMAXPROCS set, shared", procs: "4", shared: true, want: Settings{GCPercent, "default", cores, "GOMAXPROCS"}, gcAfter: GCPercent, procsAfter: cores},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("GOGC", c.gogc)
			t.Setenv("GOMAXPROCS", c.procs)
			// As the runtime left them for this environment.
			debug.SetGCPercent(100)
			runtime.GOMAXPROCS(cores)
			if got := Apply(c.shared); got != c.want {
				t.Errorf("Apply(%v) = %+v, want %+v", c.shared, got, c.want)
			}
			if got := gcPercent(); got != c.gcAfter {
				t.Errorf("the collector's target is %d after Apply, want %d (GOGC in the environment is the runtime's to apply)", got, c.gcAfter)
			}
			if got := runtime.GOMAXPROCS(0); got != c.procsAfter {
				t.Errorf("GOMAXPROCS is %d after Apply, want %d", got, c.procsAfter)
			}
		})
	}
	t.Run("one core, shared", func(t *testing.T) {
		t.Setenv("GOMAXPROCS", "")
		runtime.GOMAXPROCS(1)
		if got := Apply(true); got.Procs != 1 || runtime.GOMAXPROCS(0) != 1 {
			t.Errorf("Apply(true) on one core = %+v, GOMAXPROCS %d; want 1", got, runtime.GOMAXPROCS(0))
		}
	})
}
