package main

import (
	"context"
	"flag"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/serve"
)

// TestServeFlagsMirrorServe: the flags `modelgate serve --help` lists and lets
// through are the ones serve.Main parses: every flag it names in its own usage
// line, each accepted by it (it then fails on the missing config file, not on
// the flag).
func TestServeFlagsMirrorServe(t *testing.T) {
	err := serve.Main(context.Background(), []string{"--no-such-flag"})
	if err == nil || !strings.Contains(err.Error(), "usage:") {
		t.Fatalf("serve.Main with an unknown flag: %v", err)
	}
	_, usage, _ := strings.Cut(err.Error(), "usage:")
	theirs := map[string]bool{}
	for _, m := range regexp.MustCompile(`--([a-z][a-z-]*)`).FindAllStringSubmatch(usage, -1) {
		theirs[m[1]] = true
	}
	ours := serveFlags()
	for name := range theirs {
		if ours.Lookup(name) == nil {
			t.Errorf("serve takes --%s, which modelgate serve --help leaves out and refuses", name)
		}
	}
	values := map[string]string{"listen": "127.0.0.1:0", "ready-timeout": "1s", "cpuprofile": filepath.Join(t.TempDir(), "cpu.prof")}
	missing := filepath.Join(t.TempDir(), "missing.yml")
	ours.VisitAll(func(f *flag.Flag) {
		if !theirs[f.Name] {
			t.Errorf("modelgate serve --help lists --%s, which serve's usage does not name", f.Name)
		}
		args := []string{"--config", missing}
		if v, ok := values[f.Name]; ok {
			args = append(args, "--"+f.Name, v)
		}
		err := serve.Main(context.Background(), args)
		if err == nil || !strings.Contains(err.Error(), "missing.yml") || strings.Contains(err.Error(), "usage:") {
			t.Errorf("serve.Main(%q) = %v, want a failure to read the config", args, err)
		}
	})
}
