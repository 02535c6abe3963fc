package gcpercent

import (
	"runtime/debug"
	"testing"
)

// current reads the collector's target without changing it.
func current() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestApply(t *testing.T) {
	before := current()
	t.Cleanup(func() { debug.SetGCPercent(before) })
	for _, c := range []struct {
		env     string
		percent int
		source  string
		applied int // the target after Apply, where Apply sets it
	}{
		{env: "", percent: Default, source: "default", applied: Default},
		{env: "250", percent: 250, source: "GOGC", applied: 100},
		{env: "off", percent: -1, source: "GOGC", applied: 100},
		{env: "lots", percent: Default, source: "default", applied: Default},
	} {
		t.Run("GOGC="+c.env, func(t *testing.T) {
			t.Setenv("GOGC", c.env)
			debug.SetGCPercent(100) // as the runtime left it for the environment
			percent, source := Apply()
			if percent != c.percent || source != c.source {
				t.Errorf("Apply() = %d, %q; want %d, %q", percent, source, c.percent, c.source)
			}
			if got := current(); got != c.applied {
				t.Errorf("the collector's target is %d after Apply, want %d (GOGC in the environment is the runtime's to apply)", got, c.applied)
			}
		})
	}
}
