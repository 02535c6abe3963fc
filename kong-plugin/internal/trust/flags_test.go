package trust

import (
	"os/exec"
	"regexp"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

// TestSidecarFlagsKnown keeps sidecarFlags in step with the sidecar: every
// flag the built modelgate-sidecar lists is known here (so a new flag is
// classed guarded or not when it is added, not refused as unknown), and
// nothing here is a flag the sidecar dropped.
func TestSidecarFlagsKnown(t *testing.T) {
	out, _ := exec.Command(testutil.Binary(t, "modelgate-sidecar"), "--help").CombinedOutput()
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-{1,2}([a-z][a-z-]*)`).FindAllStringSubmatch(string(out), -1) {
		listed[m[1]] = true
	}
	delete(listed, "version") // prints and exits: no serving config
	if len(listed) < 10 {
		t.Fatalf("modelgate-sidecar --help lists only %v:\n%s", listed, out)
	}
	for name := range listed {
		if _, ok := sidecarFlags[name]; !ok {
			t.Errorf("modelgate-sidecar has --%s, which sidecarFlags does not class", name)
		}
	}
	for name := range sidecarFlags {
		if !listed[name] {
			t.Errorf("sidecarFlags classes --%s, which modelgate-sidecar does not have", name)
		}
	}
}
