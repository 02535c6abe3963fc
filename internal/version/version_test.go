package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

// TestCommitFallback: without a commit from the linker, the VCS stamp `go
// build` records in a checkout names the commit (shortened, "-dirty" with
// uncommitted changes); without either it is "unknown".
func TestCommitFallback(t *testing.T) {
	stamp := func(settings ...debug.BuildSetting) *debug.BuildInfo { return &debug.BuildInfo{Settings: settings} }
	revision := debug.BuildSetting{Key: "vcs.revision", Value: "5bd23420a318e1e0c6b1b54b7dd0e6b3d0b1f00d"}
	for _, tc := range []struct {
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{stamp(revision, debug.BuildSetting{Key: "vcs.modified", Value: "false"}), true, "5bd23420a318"},
		{stamp(revision, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), true, "5bd23420a318-dirty"},
		{stamp(debug.BuildSetting{Key: "-buildmode", Value: "exe"}), true, "unknown"},
		{nil, false, "unknown"},
	} {
		if got := commit(tc.info, tc.ok); got != tc.want {
			t.Errorf("commit(%v) = %q, want %q", tc.info, got, tc.want)
		}
	}
}

// TestModuleVersion: a module is reported at the version it was built with,
// a replaced one with its replacement, an absent one as such.
func TestModuleVersion(t *testing.T) {
	info := &debug.BuildInfo{Deps: []*debug.Module{
		{Path: "github.com/Kong/go-pdk", Version: "v0.11.2"},
		{Path: "github.com/yalue/onnxruntime_go", Version: "v1.36.0", Replace: &debug.Module{Path: "../onnxruntime_go"}},
	}}
	for module, want := range map[string]string{
		"github.com/Kong/go-pdk":          "v0.11.2",
		"github.com/yalue/onnxruntime_go": "v1.36.0 (replaced by ../onnxruntime_go)",
		"github.com/example/absent":       "not linked",
	} {
		if got := moduleVersion(info, true, module); got != want {
			t.Errorf("moduleVersion(%s) = %q, want %q", module, got, want)
		}
	}
}

func TestCompatible(t *testing.T) {
	for _, c := range []struct {
		a, b string
		ok   bool
	}{
		{"0.1.0+8517b1c7f2c9", "0.1.0+8517b1c7f2c9", true},
		{"0.1.0+8517b1c7f2c9", "0.1.0+ff61de3aaaaa", false},
		{"0.1.0+8517b1c7f2c9", "0.2.0+8517b1c7f2c9", false},
		{"0.1.0+unknown", "0.1.0+8517b1c7f2c9", true},
		{"0.1.0+8517b1c7f2c9", "0.1.0+unknown", true},
		{"0.1.0+unknown", "0.2.0+unknown", false},
		{"0.1.0+8517b1c7f2c9-dirty", "0.1.0+8517b1c7f2c9", false},
	} {
		if err := Compatible(c.a, c.b); (err == nil) != c.ok {
			t.Errorf("Compatible(%q, %q) = %v, want ok=%v", c.a, c.b, err, c.ok)
		}
	}
	if !strings.HasPrefix(Build(), Version+"+") {
		t.Errorf("Build() = %q, want %s+COMMIT", Build(), Version)
	}
}
