// Package testutil finds and starts the real things the tests run against:
// the ONNX Runtime library, the project's binaries and redis-server.
package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// RepoRoot is the folder holding go.mod.
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("testutil: no go.mod above the working directory")
		}
		dir = parent
	}
}

// ORTLib is the ONNX Runtime shared library: $ORT_LIB, else where `make ort` puts it.
// A missing library fails the test: the tests never run without ONNX Runtime.
func ORTLib(t testing.TB) string {
	t.Helper()
	path := os.Getenv("ORT_LIB")
	if path == "" {
		arch := "x64"
		if runtime.GOARCH == "arm64" {
			arch = "arm64"
		}
		path = filepath.Join(RepoRoot(), ".cache", "ort", "1.29.0", arch, "libonnxruntime.so.1")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("ONNX Runtime library not found at %s (run `make ort` or set ORT_LIB): %v", path, err)
	}
	// A gateway in this process lets a launched sidecar's --ort-lib name
	// $ORT_LIB only (kong-plugin/internal/trust): set it as an operator would.
	if os.Getenv("ORT_LIB") == "" {
		os.Setenv("ORT_LIB", path)
	}
	return path
}

var (
	buildMu  sync.Mutex
	builtDir string
	built    = map[string]string{}
)

var binaryPackages = map[string]string{
	"modelgate":         "./kong-plugin/cmd/modelgate",
	"modelgate-sidecar": "./sidecar/cmd/modelgate-sidecar",
}

// Binary returns the path of one of the project's binaries ("modelgate" or
// "modelgate-sidecar"): from $MODELGATE_BIN_DIR when `make test` built them,
// else built once per test process with the race detector.
func Binary(t testing.TB, name string) string {
	t.Helper()
	pkg, ok := binaryPackages[name]
	if !ok {
		t.Fatalf("testutil: unknown binary %q", name)
	}
	if dir := os.Getenv("MODELGATE_BIN_DIR"); dir != "" {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			allowSidecar(name, p)
			return p
		}
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		allowSidecar(name, p)
		return p
	}
	if builtDir == "" {
		d, err := os.MkdirTemp("", "modelgate-bin-")
		if err != nil {
			t.Fatal(err)
		}
		builtDir = d
	}
	p := filepath.Join(builtDir, name)
	cmd := exec.Command("go", "build", "-race", "-o", p, pkg)
	cmd.Dir = RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", name, err, out)
	}
	built[name] = p
	allowSidecar(name, p)
	return p
}

// allowSidecarCommands is the operator's allowance of further sidecar
// binaries (kong-plugin/internal/trust.EnvSidecarCommands).
const allowSidecarCommands = "MODELGATE_ALLOW_SIDECAR_COMMANDS"

// allowSidecar lets a gateway that runs inside this test process launch
// the sidecar at p: its own binary is the test binary, so the sidecar is
// not next to it. The test process stands in for the operator, who allows
// it through the environment (which child processes inherit, too).
func allowSidecar(name, p string) {
	if name != "modelgate-sidecar" {
		return
	}
	allowMu.Lock()
	defer allowMu.Unlock()
	cur := os.Getenv(allowSidecarCommands)
	if !slices.Contains(filepath.SplitList(cur), p) {
		os.Setenv(allowSidecarCommands, strings.TrimPrefix(cur+string(os.PathListSeparator)+p, string(os.PathListSeparator)))
	}
}

var allowMu sync.Mutex

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Redis is a real redis-server process on a loopback port, owned by one test.
type Redis struct {
	Addr string
	port int
	dir  string
	cmd  *exec.Cmd
}

// StartRedis starts redis-server (installed by `make test`) with no persistence
// and stops it when the test ends.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server not on PATH (make test installs it): %v", err)
	}
	port := FreePort(t)
	r := &Redis{Addr: fmt.Sprintf("127.0.0.1:%d", port), port: port, dir: t.TempDir()}
	r.Start(t)
	t.Cleanup(r.Stop)
	return r
}

// Start (re)starts the server on its port and waits until it accepts connections.
func (r *Redis) Start(t testing.TB) {
	t.Helper()
	r.cmd = exec.Command("redis-server", "--port", fmt.Sprint(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir)
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", r.Addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("redis-server did not listen on %s within 10s", r.Addr)
}

// Stop kills the server (SIGKILL, as a crash would) and waits for it.
func (r *Redis) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// TestModels is the committed test model repository (adder, tiny_classifier,
// ...) that sidecar/testdata/gen_models.py generates.
func TestModels() string {
	return filepath.Join(RepoRoot(), "sidecar", "testdata", "models")
}

// SecretDirsEnv is the plugin server's variable listing the further folders
// its config may name (kong-plugin/internal/trust.EnvSecretDirs).
const SecretDirsEnv = "MODELGATE_SECRET_DIRS"

// MainWithSecretDirs runs a test package as an operator runs the plugin
// with a secrets folder of their own: TMPDIR becomes a fresh, short folder
// (so every t.TempDir lies in it) that MODELGATE_SECRET_DIRS lists together
// with the test model repository and the shipped one (deploy/models), and the processes the tests start
// inherit both. Call it from TestMain: os.Exit(testutil.MainWithSecretDirs(m)).
// The stop functions run after the tests, before the folder is removed
// (a process-global registry stopping its sidecars, say).
func MainWithSecretDirs(m *testing.M, stop ...func()) int {
	root, err := os.MkdirTemp("", "mg")
	if err == nil {
		root, err = filepath.EvalSymlinks(root)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testutil:", err)
		return 1
	}
	defer os.RemoveAll(root)
	dirs := root + ":" + TestModels() + ":" + filepath.Join(RepoRoot(), "deploy", "models")
	if prev := os.Getenv(SecretDirsEnv); prev != "" {
		dirs += ":" + prev
	}
	os.Setenv("TMPDIR", root)
	os.Setenv(SecretDirsEnv, dirs)
	code := m.Run()
	for _, f := range stop {
		f()
	}
	return code
}
