package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/internal/version"
	"github.com/modelgate/modelgate/sidecar/internal/ort"
)

// runVersion runs the real binary and parses its version report.
func runVersion(t *testing.T, args ...string) map[string]string {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t, "modelgate-sidecar"), args...)
	cmd.Env = append(os.Environ(), "ORT_LIB=") // --ort-lib decides, or the default
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("modelgate-sidecar %q: %v\n%s", args, err, stderr.Bytes())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if want := "modelgate-sidecar " + version.Version; lines[0] != want {
		t.Fatalf("the report starts with %q, want %q:\n%s", lines[0], want, stdout.Bytes())
	}
	fields := map[string]string{}
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("version line %q is not name: value", l)
		}
		fields[name] = strings.TrimSpace(value)
	}
	return fields
}

// TestVersion: --version (without --models) reports the build, the ONNX
// Runtime API the sidecar needs, and what the real library says about itself:
// the same version the sidecar's ONNX Runtime package reads once loaded, and
// its execution providers, the CPU one among them.
func TestVersion(t *testing.T) {
	lib := testutil.ORTLib(t)
	if err := ort.Init(lib); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"go":                  runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		"onnxruntime_go":      moduleVersion(t, "github.com/yalue/onnxruntime_go"),
		"onnxruntime api":     fmt.Sprintf("%d (needed)", ortAPIVersion),
		"onnxruntime library": lib,
		"onnxruntime":         ort.Version(),
	}
	for _, args := range [][]string{{"--version", "--ort-lib", lib}, {"-version", "-ort-lib=" + lib}} {
		fields := runVersion(t, args...)
		for name, w := range want {
			if fields[name] != w {
				t.Errorf("%q: %s is %q, want %q", args, name, fields[name], w)
			}
		}
		if fields["commit"] == "" {
			t.Errorf("%q names no commit: %v", args, fields)
		}
		providers := strings.Split(fields["execution providers"], ", ")
		if !slices.Contains(providers, "CPUExecutionProvider") {
			t.Errorf("%q: execution providers %q lack CPUExecutionProvider", args, providers)
		}
	}
}

// TestVersionWithoutLibrary: a library that does not load is reported, and
// --version still says what the binary is (exit 0).
func TestVersionWithoutLibrary(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	fields := runVersion(t, "--version", "--ort-lib", missing)
	if !strings.HasPrefix(fields["onnxruntime"], "not loaded: "+missing) || fields["onnxruntime library"] != missing {
		t.Errorf("a missing library is reported as %q", fields["onnxruntime"])
	}
	if _, ok := fields["execution providers"]; ok {
		t.Errorf("providers listed without a library: %v", fields)
	}
}

// TestVersionStrayArgument: --version takes no arguments.
func TestVersionStrayArgument(t *testing.T) {
	cmd := exec.Command(testutil.Binary(t, "modelgate-sidecar"), "--version", "extra")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), `"extra"`) {
		t.Errorf("--version extra: %v\n%s", err, out)
	}
}

func moduleVersion(t *testing.T, path string) string {
	t.Helper()
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	t.Fatalf("%s is not in the test binary's build info", path)
	return ""
}

// onnxruntimeHeader is the onnxruntime_c_api.h onnxruntime_go compiles with.
func onnxruntimeHeader(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/yalue/onnxruntime_go")
	cmd.Dir = testutil.RepoRoot()
	dir, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(dir)), "onnxruntime_c_api.h")
}

// TestORTAPIVersion: the API version --version says the sidecar needs is the
// one onnxruntime_go asks the library for.
func TestORTAPIVersion(t *testing.T) {
	header, err := os.ReadFile(onnxruntimeHeader(t))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^#define ORT_API_VERSION (\d+)$`).FindSubmatch(header)
	if m == nil {
		t.Fatal("onnxruntime_c_api.h defines no ORT_API_VERSION")
	}
	if n, _ := strconv.Atoi(string(m[1])); n != ortAPIVersion {
		t.Errorf("onnxruntime_go asks for API %d, --version says %d", n, ortAPIVersion)
	}
}

// TestORTAPIIndices compiles a C program against onnxruntime_go's header and
// checks that the OrtApi positions ortinfo.go calls through are the fields it
// means.
func TestORTAPIIndices(t *testing.T) {
	header := onnxruntimeHeader(t)
	indices := ortAPIIndices()
	var src strings.Builder
	src.WriteString("#include <stddef.h>\n#include <stdio.h>\n#include \"onnxruntime_c_api.h\"\nint main(void) {\n")
	for name := range indices {
		fmt.Fprintf(&src, "\tprintf(\"%s %%zu\\n\", offsetof(OrtApi, %s) / sizeof(void *));\n", name, name)
	}
	src.WriteString("\treturn 0;\n}\n")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "offsets.c"), []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cc := exec.Command("gcc", "-I", filepath.Dir(header), "-o", filepath.Join(dir, "offsets"), filepath.Join(dir, "offsets.c"))
	if out, err := cc.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(dir, "offsets")).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, index, _ := strings.Cut(line, " ")
		if want := strconv.Itoa(indices[name]); index != want {
			t.Errorf("OrtApi.%s is entry %s, ortinfo.go calls entry %s", name, index, want)
		}
	}
}
