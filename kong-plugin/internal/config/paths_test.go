package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
	"github.com/modelgate/modelgate/kong-plugin/internal/quota"
	"github.com/modelgate/modelgate/kong-plugin/internal/trust"
)

// TestMain allows the tests' temporary folders as an operator allows a
// secrets folder (MODELGATE_SECRET_DIRS).
func TestMain(m *testing.M) { os.Exit(testutil.MainWithSecretDirs(m)) }

// TestValidatePaths: every file: reference (whatever section holds it),
// attach mode's socket and a launched sidecar's --models must lead into a
// folder the operator allows, after ".." and symlinks; each refusal names
// the field, the reference and the folders.
func TestValidatePaths(t *testing.T) {
	allowed, outside := t.TempDir(), t.TempDir()
	for _, d := range []string{allowed, outside} {
		if err := os.WriteFile(filepath.Join(d, "key.pem"), []byte("k"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(outside, "key.pem"), filepath.Join(allowed, "link.pem")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(allowed, "models")); err != nil {
		t.Fatal(err)
	}
	t.Setenv(trust.EnvSecretDirs, allowed)
	policy := trust.FromEnv()
	dotdot := "file:" + filepath.Join(allowed, "..", filepath.Base(outside), "key.pem")
	link := "file:" + filepath.Join(allowed, "link.pem")
	hostile := Config{
		Sidecar: Sidecar{Mode: "launch", Args: []string{"--models", filepath.Join(allowed, "models")}},
		Auth: auth.Config{
			Consumers: []auth.Consumer{{Name: "a", Tier: "t", KeySHA256: []string{"file:" + filepath.Join(allowed, "key.pem"), dotdot}}},
			JWT:       []auth.Issuer{{Issuer: "https://idp.example", Algorithms: []string{"RS256"}, PublicKey: link}},
		},
		Quotas: quota.Config{Policy: "redis", Redis: quota.Redis{Addr: "redis:6379", Password: "file:/etc/shadow"}},
	}.WithDefaults()
	err := hostile.ValidateWith(policy)
	if err == nil {
		t.Fatal("paths outside the allowed folders were accepted")
	}
	for _, want := range []string{
		`auth.consumers[0].key_sha256[1]: secret reference "` + dotdot + `": `,
		`auth.jwt[0].public_key: secret reference "` + link + `": `,
		`quotas.redis.password: secret reference "file:/etc/shadow": /etc/shadow is outside the allowed folders (/etc/modelgate, ` + allowed + `)`,
		"sidecar.args[1]: the model repository ",
		filepath.Join(outside, "key.pem") + ", outside the allowed folders",
		"MODELGATE_SECRET_DIRS",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "key_sha256[0]") {
		t.Errorf("the allowed file was refused:\n%v", err)
	}

	attach := Config{Sidecar: Sidecar{Mode: "attach", Socket: filepath.Join(outside, "sidecar.sock")}}.WithDefaults()
	if err := attach.ValidateWith(policy); err == nil || !strings.Contains(err.Error(), "sidecar.socket: "+filepath.Join(outside, "sidecar.sock")+" is outside the allowed folders (/run/modelgate, /etc/modelgate, "+allowed+")") {
		t.Errorf("socket outside: %v", err)
	}
	for _, ok := range []string{"/run/modelgate/sidecar.sock", filepath.Join(allowed, "sidecar.sock")} {
		attach.Sidecar.Socket = ok
		if err := attach.ValidateWith(policy); err != nil {
			t.Errorf("socket %s: %v", ok, err)
		}
	}
	// The config's own folder is allowed where it is known.
	attach.Sidecar.Socket = filepath.Join(outside, "sidecar.sock")
	if err := attach.ValidateWith(policy.WithConfigFolder(outside)); err != nil {
		t.Errorf("socket in the config's folder: %v", err)
	}
	if p := policy.WithConfigFolder("/"); p.ConfigFolder != "" {
		t.Errorf("the config folder / allows every file: %+v", p)
	}
}
