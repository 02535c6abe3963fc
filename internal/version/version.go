// Package version says which build of modelgate a binary is: the project's
// version, the commit it was built from, the Go toolchain, and the versions
// of the modules that fix its contracts with the outside (go-pdk for Kong,
// onnxruntime_go for ONNX Runtime). `modelgate version` and
// `modelgate-sidecar --version` print it.
package version

import (
	"fmt"
	"io"
	"path"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"
)

// Version is the project's version, the same for both binaries.
const Version = "0.1.0"

// Commit is the git commit the binary was built from. The Makefile and the
// Dockerfile set it at link time:
//
//	go build -ldflags "-X github.com/modelgate/modelgate/internal/version.Commit=$(git rev-parse --short=12 HEAD)"
//
// The Docker build has no .git, so the image gets it as the GIT_COMMIT build
// argument. Only the linker writes it; nothing assigns it at run time.
var Commit string

// Field is one line of a version report.
type Field struct {
	Name, Value string
}

// Fields reports the commit, the Go toolchain and platform, and the version of each named module the binary was built with (by its last
// path element: "go-pdk" for github.com/Kong/go-pdk).
func Fields(modules ...string) []Field {
	info, ok := debug.ReadBuildInfo()
	fields := []Field{
		{"commit", commit(info, ok)},
		{"go", runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH},
	}
	for _, m := range modules {
		fields = append(fields, Field{path.Base(m), moduleVersion(info, ok, m)})
	}
	return fields
}

// Write prints the program's name and version, then one aligned
// "name: value" line per field.
func Write(w io.Writer, program string, fields []Field) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "%s %s\n", program, Version)
	for _, f := range fields {
		fmt.Fprintf(tw, "%s:\t%s\n", f.Name, f.Value)
	}
	return tw.Flush()
}

// commit is Commit, else the revision `go build` stamped from the checkout
// it ran in (absent with -buildvcs=false, as in the Docker build), else
// "unknown".
func commit(info *debug.BuildInfo, ok bool) string {
	if Commit != "" {
		return Commit
	}
	if !ok {
		return "unknown"
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if revision == "" {
		return "unknown"
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	if modified == "true" {
		revision += "-dirty"
	}
	return revision
}

func moduleVersion(info *debug.BuildInfo, ok bool, module string) string {
	if !ok {
		return "unknown"
	}
	for _, d := range info.Deps {
		if d.Path != module {
			continue
		}
		if r := d.Replace; r != nil {
			return strings.TrimSpace(d.Version + " (replaced by " + strings.TrimSpace(r.Path+" "+r.Version) + ")")
		}
		return d.Version
	}
	return "not linked"
}

// Build identifies this build in the handshake between a plugin server and
// a sidecar it attaches to: "VERSION+COMMIT", e.g. "0.1.0+8517b1c7f2c9".
func Build() string {
	info, ok := debug.ReadBuildInfo()
	return Version + "+" + commit(info, ok)
}

// Compatible reports why builds a and b (as Build writes them) must not talk
// to each other, or nil when they may. They may when they are the same
// build. A build whose commit is "unknown" (a test binary: `go test` stamps
// no commit) is only compared by version.
func Compatible(a, b string) error {
	if a == b {
		return nil
	}
	av, ac, _ := strings.Cut(a, "+")
	bv, bc, _ := strings.Cut(b, "+")
	if av == bv && (ac == "unknown" || bc == "unknown") {
		return nil
	}
	return fmt.Errorf("build %s is not build %s", a, b)
}
