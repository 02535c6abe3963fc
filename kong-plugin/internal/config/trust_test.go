package config

import (
	"strings"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/quota"
	"github.com/modelgate/modelgate/kong-plugin/internal/trust"
)

// A config that would run code, listen everywhere or send the Redis
// password anywhere is refused unless the operator's environment allows it
// (issue 12, item 4), every problem at once and in its place.
func TestValidateTrust(t *testing.T) {
	t.Setenv("MODELGATE_ALLOW_SIDECAR_COMMANDS", "")
	t.Setenv("MODELGATE_ALLOW_SIDECAR_FLAGS", "")
	t.Setenv("MODELGATE_ALLOW_LISTEN", "")
	t.Setenv("MODELGATE_ALLOW_REDIS", "redis:6379")
	t.Setenv("ORT_LIB", "/usr/lib/libonnxruntime.so.1")
	hostile := Config{
		Sidecar: Sidecar{Mode: "launch", Command: "/bin/sh",
			Args: []string{"-c", "--models", "m", "--ort-lib", "/tmp/evil.so", "--cpuprofile", "/etc/x"},
			Env:  []string{"LD_PRELOAD=/tmp/evil.so", "CUDA_VISIBLE_DEVICES=0"}},
		Metrics: Metrics{Addr: "0.0.0.0:9542"},
		Quotas:  quota.Config{Policy: "redis", Redis: quota.Redis{Addr: "attacker.example:6379"}},
	}.WithDefaults()
	err := hostile.Validate()
	if err == nil {
		t.Fatal("a hostile config was accepted")
	}
	for _, want := range []string{
		`sidecar.command: "/bin/sh" is not allowed`,
		`sidecar.args[0]: "-c" is not a modelgate-sidecar flag`,
		"sidecar.args[3]: --ort-lib loads code",
		"sidecar.args[5]: --cpuprofile",
		"sidecar.env[0]: LD_PRELOAD may not be set",
		`metrics.addr: "0.0.0.0:9542" is not a loopback address`,
		`quotas.redis.addr: "attacker.example:6379" is not an allowed Redis address`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "CUDA_VISIBLE_DEVICES") {
		t.Errorf("CUDA_VISIBLE_DEVICES refused:\n%v", err)
	}

	ordinary := Config{
		Sidecar: Sidecar{Mode: "launch", Args: []string{"--models", "deploy/models", "--ort-lib", "/usr/lib/libonnxruntime.so.1"}},
		Metrics: Metrics{Addr: "127.0.0.1:9542"},
		Quotas:  quota.Config{Policy: "redis", Redis: quota.Redis{Addr: "redis:6379"}},
	}.WithDefaults()
	// Relative paths are the working directory's, the config's own folder
	// under Kong (core.SetConfigFolder).
	here := trust.FromEnv().WithConfigFolder(".")
	if err := ordinary.ValidateWith(here); err != nil {
		t.Errorf("an ordinary config was refused: %v", err)
	}

	t.Setenv("MODELGATE_ALLOW_SIDECAR_COMMANDS", "/bin/sh")
	t.Setenv("MODELGATE_ALLOW_SIDECAR_FLAGS", "all")
	t.Setenv("MODELGATE_ALLOW_LISTEN", "0.0.0.0:9542")
	allowed := hostile
	allowed.Sidecar.Args = []string{"--models", "m", "--ort-lib", "/opt/ort.so", "--cpuprofile", "/tmp/cpu.pprof"}
	allowed.Sidecar.Env = nil
	allowed.Quotas.Redis.Addr = "redis:6379"
	if err := allowed.ValidateWith(trust.FromEnv().WithConfigFolder(".")); err != nil {
		t.Errorf("what the operator allowed was refused: %v", err)
	}
}
