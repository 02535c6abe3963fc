package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

// TestServeRefusesDemoCredentials starts `modelgate serve` on the root
// kong.yml, which holds the public DEMO credentials, without demo mode: it
// refuses to start, naming kong.yml's lines, the DEMO key file and the way
// out.
func TestServeRefusesDemoCredentials(t *testing.T) {
	cmd := exec.Command(testutil.Binary(t, "modelgate"), "serve", "--config", "kong.yml", "--listen", "127.0.0.1:0")
	cmd.Dir = testutil.RepoRoot()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MODELGATE_DEMO=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "PATH="+filepath.Dir(testutil.Binary(t, "modelgate-sidecar"))+string(os.PathListSeparator)+os.Getenv("PATH"),
		"ORT_LIB="+testutil.ORTLib(t))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("modelgate serve on the root kong.yml without MODELGATE_DEMO: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{
		"kong.yml:", "key_sha256[0]: the DEMO API key's digest",
		"public_key: file:deploy/keys/demo-jwt-rs256.pub holds the DEMO issuer's public key", "MODELGATE_DEMO=1",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
		}
	}
}
