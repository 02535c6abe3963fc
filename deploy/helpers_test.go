package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/modelgate/modelgate/internal/testutil"
)

// repoFile reads a file by its path from the repository root.
func repoFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), rel))
	if err != nil {
		t.Fatalf("reading %s: %v", rel, err)
	}
	return b
}

// sidecarCommand is one modelgate-sidecar command line split into its
// subcommand ("" to serve, "probe") and its flags.
type sidecarCommand struct {
	sub   string
	flags map[string]string
}

// parseSidecarArgs reads the arguments that follow the sidecar binary the
// way the sidecar's flag parsing does (--name value, --name=value, -name;
// --ready takes no value), failing on a flag the brief does not list.
func parseSidecarArgs(t *testing.T, where string, args []string) sidecarCommand {
	t.Helper()
	cmd := sidecarCommand{flags: map[string]string{}}
	known := sidecarFlags
	if len(args) > 0 && args[0] == "probe" {
		cmd.sub, known, args = "probe", probeFlags, args[1:]
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			t.Errorf("%s: unexpected argument %q", where, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !known[name] {
			t.Errorf("%s: modelgate-sidecar %s has no flag --%s", where, cmd.sub, name)
			continue
		}
		if name == "ready" {
			value = "true"
		} else if !hasValue {
			if i+1 >= len(args) {
				t.Errorf("%s: --%s needs a value", where, name)
				continue
			}
			i++
			value = args[i]
		}
		cmd.flags[name] = value
	}
	return cmd
}

// checkSidecarServe checks a serving command line: the socket, the message
// limit the plugin expects and a model repository.
func checkSidecarServe(t *testing.T, where string, args []string, maxMessageBytes int) {
	t.Helper()
	cmd := parseSidecarArgs(t, where, args)
	if cmd.sub != "" {
		t.Fatalf("%s: want the serving command, got %q", where, cmd.sub)
	}
	if got := cmd.flags["socket"]; got != socketPath {
		t.Errorf("%s: --socket %q, want %q", where, got, socketPath)
	}
	if cmd.flags["models"] == "" {
		t.Errorf("%s: no --models", where)
	}
	if got := cmd.flags["max-message-bytes"]; got != strconv.Itoa(maxMessageBytes) {
		t.Errorf("%s: --max-message-bytes %q, want the plugin's sidecar.max_message_bytes %d", where, got, maxMessageBytes)
	}
	if addr := cmd.flags["metrics-addr"]; addr != "" && addr != ":"+strconv.Itoa(sidecarMetricsPort) {
		t.Errorf("%s: --metrics-addr %q, want :%d", where, addr, sidecarMetricsPort)
	}
}

// checkProbe checks a health check command: the sidecar's probe on the
// production socket, --ready when ready says so.
func checkProbe(t *testing.T, where string, argv []string, ready bool) {
	t.Helper()
	if len(argv) == 0 || argv[0] != sidecarBin {
		t.Fatalf("%s: probe command %q does not start with %s", where, argv, sidecarBin)
	}
	cmd := parseSidecarArgs(t, where, argv[1:])
	if cmd.sub != "probe" {
		t.Fatalf("%s: %q is not `modelgate-sidecar probe`", where, argv)
	}
	if cmd.flags["socket"] != socketPath {
		t.Errorf("%s: probe --socket %q, want %q", where, cmd.flags["socket"], socketPath)
	}
	if _, got := cmd.flags["ready"]; got != ready {
		t.Errorf("%s: probe --ready is %v, want %v", where, got, ready)
	}
}

// modelgatePlugins returns the config of every `modelgate` plugin entry in a
// Kong declarative config: global, on services and on routes.
func modelgatePlugins(t *testing.T, where string, doc []byte) []map[string]any {
	t.Helper()
	var root map[string]any
	if err := yaml.Unmarshal(doc, &root); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	var configs []map[string]any
	var walk func(entity map[string]any)
	walk = func(entity map[string]any) {
		plugins, _ := entity["plugins"].([]any)
		for _, p := range plugins {
			p, _ := p.(map[string]any)
			if p["name"] == pluginName {
				cfg, _ := p["config"].(map[string]any)
				configs = append(configs, cfg)
			}
		}
		for _, child := range []string{"services", "routes"} {
			list, _ := entity[child].([]any)
			for _, c := range list {
				if c, ok := c.(map[string]any); ok {
					walk(c)
				}
			}
		}
	}
	walk(root)
	if len(configs) == 0 {
		t.Fatalf("%s: no %q plugin", where, pluginName)
	}
	return configs
}

// dig follows a path of map keys through decoded YAML.
func dig(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

var flagName = regexp.MustCompile(`(?m)^\s*--?([a-z][a-z0-9-]*)`)

// helpFlags runs the built sidecar with --help (after args, e.g. "probe")
// and returns the flag names its usage lists.
func helpFlags(t *testing.T, args ...string) map[string]bool {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t, "modelgate-sidecar"), append(args, "--help")...)
	out, _ := cmd.CombinedOutput() // flag's --help exits 0 or 2; the usage is what counts
	names := map[string]bool{}
	for _, m := range flagName.FindAllStringSubmatch(string(out), -1) {
		names[m[1]] = true
	}
	if len(names) == 0 {
		t.Fatalf("modelgate-sidecar %s --help lists no flags:\n%s", strings.Join(args, " "), out)
	}
	return names
}

// TestSidecarFlagsExist asks the built sidecar for its flags: every flag the
// brief lists (and so every flag the deployment files may use, see
// parseSidecarArgs) must be one the binary knows.
func TestSidecarFlagsExist(t *testing.T) {
	for _, c := range []struct {
		args  []string
		flags map[string]bool
	}{{nil, sidecarFlags}, {[]string{"probe"}, probeFlags}} {
		have := helpFlags(t, c.args...)
		for f := range c.flags {
			if !have[f] {
				t.Errorf("modelgate-sidecar %s: no flag --%s", strings.Join(c.args, " "), f)
			}
		}
	}
}
