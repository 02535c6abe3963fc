package deploy

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

// essential are the programs every Debian system has (Essential: yes, or Go
// itself, the one prerequisite the README names): the tests may call them
// without a TEST_DEBS entry.
var essential = map[string]bool{
	"bash": true, "sh": true, "sed": true, "sleep": true, "uname": true, "tar": true,
	"go": true, "make": true, // the README's commands are make targets: make is there
}

// testDebs reads the PACKAGE=PROBE list that `make test-deps` hands to
// scripts/debdeps.sh, as make itself expands it.
func testDebs(t *testing.T) map[string]string {
	t.Helper()
	cmd := exec.Command("make", "-n", "-s", "--no-print-directory", "test-deps")
	cmd.Dir = testutil.RepoRoot()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n test-deps: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 2 && strings.HasSuffix(fields[0], "debdeps.sh") && fields[1] == "install" {
			probes := map[string]string{}
			for _, dep := range fields[2:] {
				pkg, probe, ok := strings.Cut(dep, "=")
				if !ok {
					t.Fatalf("TEST_DEBS entry %q is not PACKAGE=PROBE", dep)
				}
				probes[probe] = pkg
			}
			return probes
		}
	}
	t.Fatalf("make -n test-deps runs no scripts/debdeps.sh install:\n%s", out)
	return nil
}

// TestTestDebsCoverWhatTestsCall keeps `make test` installing what the tests
// call: every program a Go file starts by its literal name, every program the
// README examples and the scripts the tests run call, and every module the
// model generator imports has a probe in TEST_DEBS. A test that starts calling
// a new program fails here, naming it, rather than on a new machine.
func TestTestDebsCoverWhatTestsCall(t *testing.T) {
	probes := testDebs(t)
	root := testutil.RepoRoot()
	need := map[string]string{} // probe -> where it is used

	execLiteral := regexp.MustCompile(`exec\.(?:Command|CommandContext|LookPath)\((?:ctx, )?"([^"]+)"`)
	pythonPath := regexp.MustCompile(`"(/usr/bin/python3)"`)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".cache") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, m := range execLiteral.FindAllStringSubmatch(string(src), -1) {
			need[m[1]] = rel
		}
		for _, m := range pythonPath.FindAllStringSubmatch(string(src), -1) {
			need[m[1]] = rel
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The README examples (run by e2e) call curl; the demo token script openssl.
	for probe, file := range map[string]string{"curl": "e2e/testdata/examples.md", "openssl": "deploy/keys/mint-demo-token.sh"} {
		if !strings.Contains(string(repoFile(t, file)), probe+" ") {
			t.Errorf("%s no longer calls %s: update this test", file, probe)
		}
		need[probe] = file
	}
	imports := regexp.MustCompile(`(?m)^(?:import|from) ([a-z_]+)`)
	stdlib := map[string]bool{"argparse": true, "hashlib": true, "os": true, "shutil": true, "json": true, "sys": true}
	for _, m := range imports.FindAllStringSubmatch(string(repoFile(t, "sidecar/testdata/gen_models.py")), -1) {
		if !stdlib[m[1]] {
			need["py:"+m[1]] = "sidecar/testdata/gen_models.py"
		}
	}
	if len(need) < 5 {
		t.Fatalf("found only %v: the scan is broken", need)
	}
	for probe, where := range need {
		if essential[probe] || strings.HasPrefix(probe, "./") {
			continue
		}
		if _, ok := probes[probe]; !ok {
			t.Errorf("%s calls %s, which no TEST_DEBS entry installs (add PACKAGE=%s to the Makefile)", where, probe, probe)
		}
	}
}

// TestDebdepsCheckNamesMissingPackages: the check names each missing package
// and its probe and fails, before any test would have.
func TestDebdepsCheckNamesMissingPackages(t *testing.T) {
	script := filepath.Join(testutil.RepoRoot(), "scripts", "debdeps.sh")
	out, err := exec.Command(script, "check", "bash=bash", "modelgate-nosuch=modelgate-nosuch-program",
		"python3-modelgate-nosuch=py:modelgate_nosuch_module").CombinedOutput()
	if code := exitCode(err); code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{
		"missing: modelgate-nosuch (modelgate-nosuch-program not found)",
		"missing: python3-modelgate-nosuch (py:modelgate_nosuch_module not found)",
		"apt-get install modelgate-nosuch python3-modelgate-nosuch",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "missing: bash") {
		t.Errorf("bash is there but reported missing:\n%s", out)
	}
	// Everything TEST_DEBS names is there after `make test-deps` (which `make test` ran first).
	var all []string
	for probe, pkg := range testDebs(t) {
		all = append(all, pkg+"="+probe)
	}
	if out, err := exec.Command(script, append([]string{"check"}, all...)...).CombinedOutput(); err != nil {
		t.Errorf("after make test-deps: %v\n%s", err, out)
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
