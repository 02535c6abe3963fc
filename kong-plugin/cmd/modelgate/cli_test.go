package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/internal/version"
	"github.com/modelgate/modelgate/kong-plugin/internal/kong"
)

// result is one run of the modelgate binary.
type result struct {
	stdout, stderr string
	code           int
}

// runModelgate runs the real binary with args and waits for it to exit: a
// command line that started the plugin server by mistake never exits, and the
// test's deadline reports it.
func runModelgate(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t, "modelgate"), args...)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("modelgate %q: %v", args, err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// TestUsagePage: every way of asking for help prints the same page on stdout,
// naming every command with its one line and the plugin server's flags.
func TestUsagePage(t *testing.T) {
	var page string
	for _, args := range [][]string{{"help"}, {"-h"}, {"-help"}, {"--help"}, {"-kong-prefix", "/tmp", "--help"}} {
		r := runModelgate(t, args...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("modelgate %q: exit %d, stderr:\n%s", args, r.code, r.stderr)
		}
		if page == "" {
			page = r.stdout
		} else if r.stdout != page {
			t.Errorf("modelgate %q printed another page:\n%s", args, r.stdout)
		}
	}
	for _, c := range commands() {
		if !strings.Contains(page, "  "+c.name+" ") || !strings.Contains(page, c.summary) {
			t.Errorf("the usage page lacks %q (%s):\n%s", c.name, c.summary, page)
		}
	}
	for _, want := range []string{"-kong-prefix DIR", "-dump", "MODELGATE_LOG_LEVEL", `"Running under Kong"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the usage page lacks %q:\n%s", want, page)
		}
	}
}

// TestCommandHelp: `modelgate help NAME`, `modelgate NAME --help` and
// `modelgate NAME -h` print the command's page, with each of its flags, on
// stdout, and exit 0 without running it.
func TestCommandHelp(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			var page string
			for _, args := range [][]string{{"help", c.name}, {c.name, "--help"}, {c.name, "-h"}} {
				r := runModelgate(t, args...)
				if r.code != 0 || r.stderr != "" {
					t.Fatalf("modelgate %q: exit %d, stderr:\n%s", args, r.code, r.stderr)
				}
				if page == "" {
					page = r.stdout
				} else if r.stdout != page {
					t.Errorf("modelgate %q printed another page:\n%s", args, r.stdout)
				}
			}
			want := []string{"modelgate " + c.name + ": " + c.summary + "\n", "usage: " + c.synopsis + "\n", "README.md: section \"" + c.readme + "\"\n"}
			if c.flags != nil {
				c.flags().VisitAll(func(f *flag.Flag) { want = append(want, "  --"+f.Name+" ") })
			}
			for _, w := range want {
				if !strings.Contains(page, w) {
					t.Errorf("the page lacks %q:\n%s", w, page)
				}
			}
		})
	}
}

// TestVersion: `modelgate version` and its flag spellings print the project
// version, the commit, Go's version and the go-pdk the binary was built with.
func TestVersion(t *testing.T) {
	if kong.Version != version.Version {
		t.Errorf("the plugin tells Kong it is version %s, the binary says %s", kong.Version, version.Version)
	}
	pdk := goPDKVersion(t)
	for _, arg := range []string{"version", "--version", "-version"} {
		r := runModelgate(t, arg)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("modelgate %s: exit %d, stderr:\n%s", arg, r.code, r.stderr)
		}
		fields := versionFields(t, r.stdout, "modelgate")
		for name, want := range map[string]string{
			"go":     runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
			"go-pdk": pdk,
		} {
			if fields[name] != want {
				t.Errorf("modelgate %s: %s is %q, want %q:\n%s", arg, name, fields[name], want, r.stdout)
			}
		}
		if fields["commit"] == "" {
			t.Errorf("modelgate %s names no commit:\n%s", arg, r.stdout)
		}
	}
}

// goPDKVersion is the go-pdk this test binary, and so modelgate, is built with.
func goPDKVersion(t *testing.T) string {
	info, ok := debug.ReadBuildInfo()
	if ok {
		for _, d := range info.Deps {
			if d.Path == "github.com/Kong/go-pdk" {
				return d.Version
			}
		}
	}
	t.Fatal("the test binary has no go-pdk in its build info")
	return ""
}

// versionFields parses a version report: "PROGRAM VERSION", then "name: value" lines.
func versionFields(t *testing.T, out, program string) map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if lines[0] != program+" "+version.Version {
		t.Fatalf("the report starts with %q, want %q:\n%s", lines[0], program+" "+version.Version, out)
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

// TestVersionCommitFromLdflags builds modelgate as the Makefile and the
// Dockerfile do, with the commit set at link time, and checks that it reports
// it, and that both files set that variable.
func TestVersionCommitFromLdflags(t *testing.T) {
	const variable = "github.com/modelgate/modelgate/internal/version.Commit"
	dockerfile, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// What `make build` would run, without running it.
	makeBuild := exec.Command("make", "--dry-run", "--always-make", "build", "BIN="+t.TempDir())
	makeBuild.Dir = testutil.RepoRoot()
	makefile, err := makeBuild.Output()
	if err != nil {
		t.Fatalf("make --dry-run build: %v", err)
	}
	for file, text := range map[string]string{"Dockerfile": string(dockerfile), "make build": string(makefile)} {
		if n := strings.Count(text, "-X "+variable+"="); n != 2 {
			t.Errorf("%s sets %s in %d go build lines, want 2 (modelgate and modelgate-sidecar)", file, variable, n)
		}
	}
	bin := filepath.Join(t.TempDir(), "modelgate")
	build := exec.Command("go", "build", "-ldflags", "-X "+variable+"=0123456789ab-test", "-o", bin, "./kong-plugin/cmd/modelgate")
	build.Dir = testutil.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := versionFields(t, string(out), "modelgate")["commit"]; got != "0123456789ab-test" {
		t.Errorf("commit is %q, want the one set at link time:\n%s", got, out)
	}
}

// TestUsageErrors: what names no command, or adds what a command does not
// take, exits 2 naming it, with the usage on stderr, and starts nothing.
func TestUsageErrors(t *testing.T) {
	prefix := t.TempDir()
	for _, tc := range []struct {
		args  []string
		names string // quoted in the message
		usage string // the page that follows
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, "commands:"},
		{[]string{"serv"}, `unknown command "serv"`, "commands:"},
		{[]string{"-kong-prefix", prefix, "extra"}, `unexpected argument "extra"`, "commands:"},
		{[]string{"-dump", "extra"}, `unexpected argument "extra"`, "commands:"},
		{[]string{"-kong-prefix"}, "flag needs an argument: -kong-prefix", "commands:"},
		{[]string{"-no-such-flag"}, "flag provided but not defined: -no-such-flag", "commands:"},
		{[]string{"help", "nope"}, `unknown command "nope"`, "commands:"},
		{[]string{"help", "serve", "keygen"}, `unexpected argument "keygen"`, "commands:"},
		{[]string{"version", "extra"}, `modelgate version: unexpected argument "extra"`, "usage: modelgate version"},
		{[]string{"serve", "kong.yml"}, `modelgate serve: unexpected argument "kong.yml"`, "usage: modelgate serve"},
		{[]string{"serve", "--no-such-flag"}, "modelgate serve: flag provided but not defined: -no-such-flag", "usage: modelgate serve"},
		{[]string{"keygen", "--consumer", "alice", "extra"}, `modelgate keygen: unexpected argument "extra"`, "usage: modelgate keygen"},
		{[]string{"keygen"}, "modelgate keygen: --consumer is required", "usage: modelgate keygen"},
	} {
		r := runModelgate(t, tc.args...)
		if r.code != 2 || r.stdout != "" {
			t.Errorf("modelgate %q: exit %d, want 2; stdout:\n%s", tc.args, r.code, r.stdout)
		}
		if !strings.Contains(r.stderr, tc.names) || !strings.Contains(r.stderr, tc.usage) {
			t.Errorf("modelgate %q: stderr lacks %q or %q:\n%s", tc.args, tc.names, tc.usage, r.stderr)
		}
		if strings.Contains(r.stderr, ".socket") && !strings.Contains(r.stderr, "DIR/modelgate.socket") {
			t.Errorf("modelgate %q went near the plugin server's socket:\n%s", tc.args, r.stderr)
		}
	}
	if entries, err := os.ReadDir(prefix); err != nil || len(entries) > 0 {
		t.Errorf("the refused -kong-prefix folder holds %v (%v)", entries, err)
	}
}

// TestPluginServerAsKongRunsIt: Kong's invocations reach go-pdk as before.
// `-dump` prints the plugin info Kong reads (for -kong-prefix's socket), and
// `-kong-prefix DIR` serves on DIR/modelgate.socket until SIGTERM.
func TestPluginServerAsKongRunsIt(t *testing.T) {
	prefix := t.TempDir()
	for _, args := range [][]string{{"-dump"}, {"-kong-prefix", prefix, "-dump"}, {"--dump"}} {
		r := runModelgate(t, args...)
		var info struct {
			Protocol, SocketPath string
			Plugins              []struct {
				Name, Version string
				Priority      int
			}
		}
		if r.code != 0 {
			t.Fatalf("modelgate %q: exit %d:\n%s", args, r.code, r.stderr)
		}
		if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
			t.Fatalf("modelgate %q printed no plugin info (%v):\n%s", args, err, r.stdout)
		}
		want := "/usr/local/kong/modelgate.socket"
		if args[0] == "-kong-prefix" {
			want = filepath.Join(prefix, "modelgate.socket")
		}
		if info.Protocol != "ProtoBuf:1" || info.SocketPath != want || len(info.Plugins) != 1 ||
			info.Plugins[0].Name != "modelgate" || info.Plugins[0].Version != kong.Version || info.Plugins[0].Priority != kong.Priority {
			t.Errorf("modelgate %q: %+v", args, info)
		}
	}

	socket := filepath.Join(prefix, "modelgate.socket")
	cmd, lines := startModelgate(t, "-kong-prefix", prefix)
	waitForLine(t, lines, "Listening on socket: "+socket)
	conn, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("the plugin server did not stop cleanly on SIGTERM: %v", err)
	}
}

// TestBarePluginServer: the bare binary, Kong's default start command, is the
// plugin server on Kong's default prefix: it listens there, or says why not.
// go-pdk names the socket after the executable, so a copy under another name
// never touches the socket of a Kong running on this machine.
func TestBarePluginServer(t *testing.T) {
	const name = "modelgate-clitest"
	exe, err := os.ReadFile(testutil.Binary(t, "modelgate"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(bin, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	socket := "/usr/local/kong/" + name + ".socket"
	t.Cleanup(func() { _ = os.Remove(socket) })
	cmd, lines := start(t, bin)
	waitForLine(t, lines, socket)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// startModelgate starts the binary and hands back its stderr line by line.
func startModelgate(t *testing.T, args ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	return start(t, testutil.Binary(t, "modelgate"), args...)
}

func start(t *testing.T, bin string, args ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, lines
}

func waitForLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	var seen []string
	for l := range lines {
		if strings.Contains(l, want) {
			// Keep draining, so the process never blocks on a full pipe.
			go func() {
				for range lines {
				}
			}()
			return
		}
		seen = append(seen, l)
	}
	t.Fatalf("the plugin server exited without logging %q:\n%s", want, strings.Join(seen, "\n"))
}

// TestPluginServerFlagsMirrorGoPDK: the flags dispatch lets through are the
// ones go-pdk defines (on the global flag set, which this test binary shares
// with modelgate), with go-pdk's defaults.
func TestPluginServerFlagsMirrorGoPDK(t *testing.T) {
	ours := pluginServerFlags(os.Stderr)
	flag.CommandLine.VisitAll(func(f *flag.Flag) {
		if f.Name == "help" || strings.HasPrefix(f.Name, "test.") {
			return // help is the help command; test.* are go test's own
		}
		o := ours.Lookup(f.Name)
		if o == nil {
			t.Errorf("go-pdk defines -%s, which modelgate would refuse", f.Name)
		} else if o.DefValue != f.DefValue {
			t.Errorf("-%s: go-pdk's default is %q, the usage page says %q", f.Name, f.DefValue, o.DefValue)
		}
	})
	ours.VisitAll(func(f *flag.Flag) {
		if flag.CommandLine.Lookup(f.Name) == nil {
			t.Errorf("modelgate lets -%s through, which go-pdk does not define", f.Name)
		}
	})
}
