package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/modelgate/modelgate/internal/version"
)

// writeVersion answers --version: the build (version, commit, Go,
// onnxruntime_go), the ONNX Runtime API the sidecar needs, and what the
// library at ortLib says about itself when it loads. A library that does not
// load is reported, not an error: --version says what the binary is.
func writeVersion(w io.Writer, ortLib string) error {
	fields := append(version.Fields("github.com/yalue/onnxruntime_go"),
		version.Field{Name: "onnxruntime api", Value: fmt.Sprintf("%d (needed)", ortAPIVersion)},
		version.Field{Name: "onnxruntime library", Value: ortLib})
	lib, err := probeORT(ortLib)
	if lib.version != "" {
		fields = append(fields, version.Field{Name: "onnxruntime", Value: lib.version})
	}
	switch {
	case err != nil && lib.version == "":
		fields = append(fields, version.Field{Name: "onnxruntime", Value: "not loaded: " + err.Error()})
	case err != nil:
		fields = append(fields, version.Field{Name: "execution providers", Value: "unknown: " + err.Error()})
	default:
		fields = append(fields, version.Field{Name: "execution providers", Value: strings.Join(lib.providers, ", ")})
	}
	return version.Write(w, "modelgate-sidecar", fields)
}
