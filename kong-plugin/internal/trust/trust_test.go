package trust

import (
	"strings"
	"testing"
)

func TestSidecarCommand(t *testing.T) {
	p := Policy{Executable: "/opt/gw/bin/modelgate", SidecarCommands: []string{"/srv/modelgate-sidecar-gpu", "relative/ignored"}}
	for _, tc := range []struct {
		command, want, err string
	}{
		{"modelgate-sidecar", "/opt/gw/bin/modelgate-sidecar", ""},
		{"/opt/gw/bin/modelgate-sidecar", "/opt/gw/bin/modelgate-sidecar", ""},
		{"/opt/gw/bin/../bin/modelgate-sidecar", "/opt/gw/bin/modelgate-sidecar", ""},
		{"/srv/modelgate-sidecar-gpu", "/srv/modelgate-sidecar-gpu", ""},
		{"/bin/sh", "", "not allowed"},
		{"/usr/bin/modelgate-sidecar", "", "MODELGATE_ALLOW_SIDECAR_COMMANDS"},
		{"relative/ignored", "", "not allowed"},
		{"sh", "", "not allowed"},
	} {
		got, err := p.SidecarCommand(tc.command)
		if tc.err == "" && (err != nil || got != tc.want) {
			t.Errorf("SidecarCommand(%q) = %q, %v; want %q", tc.command, got, err, tc.want)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("SidecarCommand(%q) = %q, %v; want an error with %q", tc.command, got, err, tc.err)
		}
	}
}

func TestCheckSidecarArgs(t *testing.T) {
	p := Policy{ORTLib: "/usr/lib/libonnxruntime.so.1"}
	for _, tc := range []struct {
		name string
		args []string
		want []string // one substring per expected problem, in order
	}{
		{"ordinary flags", []string{"--models", "deploy/models", "-log-level=warn", "--allow-spinning", "--require-bound-models", "--max-elements", "10"}, nil},
		{"ort-lib of the operator", []string{"--ort-lib", "/usr/lib/libonnxruntime.so.1"}, nil},
		{"ort-lib elsewhere", []string{"--models", "m", "--ort-lib=/tmp/evil.so"}, []string{"args[2]: --ort-lib loads code"}},
		{"cpuprofile", []string{"--cpuprofile", "/etc/cron.d/x"}, []string{"args[0]: --cpuprofile"}},
		{"socket", []string{"--socket", "/run/other.sock"}, []string{"args[0]: --socket"}},
		{"metrics on loopback", []string{"--metrics-addr", "127.0.0.1:9000"}, nil},
		{"metrics everywhere", []string{"--metrics-addr", ":9000"}, []string{"args[0]: --metrics-addr"}},
		{"subcommand", []string{"encrypt", "--key-file", "/etc/shadow"}, []string{`args[0]: "encrypt" is not a flag`, `args[1]: "--key-file" is not a modelgate-sidecar flag`, `args[2]: "/etc/shadow" is not a flag`}},
		{"stray word after a bool flag", []string{"--allow-spinning", "false"}, []string{`args[1]: "false" is not a flag`}},
		{"missing value", []string{"--models"}, []string{"args[0]: --models needs a value"}},
		{"terminator", []string{"--", "--cpuprofile"}, []string{`args[0]: "--" is not a flag`, "args[1]: --cpuprofile needs a value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := p.CheckSidecarArgs(tc.args)
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d problems %v, want %d %v", len(errs), errs, len(tc.want), tc.want)
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), tc.want[i]) {
					t.Errorf("problem %d = %q, want %q in it", i, e.Error(), tc.want[i])
				}
			}
		})
	}
}

func TestAllowedSidecarFlags(t *testing.T) {
	args := []string{"--ort-lib", "/opt/other.so", "--cpuprofile", "/tmp/cpu.pprof"}
	if errs := (Policy{SidecarFlags: []string{"ort-lib", "cpuprofile"}}).CheckSidecarArgs(args); errs != nil {
		t.Errorf("listed flags refused: %v", errs)
	}
	if errs := (Policy{SidecarFlags: []string{"all"}}).CheckSidecarArgs(args); errs != nil {
		t.Errorf("all flags allowed, yet refused: %v", errs)
	}
	if errs := (Policy{SidecarFlags: []string{"ort-lib"}}).CheckSidecarArgs(args); len(errs) != 1 || errs[0].Index != 2 {
		t.Errorf("only ort-lib allowed: got %v, want one problem at args[2]", errs)
	}
}

func TestCheckListen(t *testing.T) {
	for _, tc := range []struct {
		addr  string
		allow []string
		ok    bool
	}{
		{"127.0.0.1:9542", nil, true},
		{"127.0.0.2:9542", nil, true},
		{"[::1]:9542", nil, true},
		{"localhost:9542", nil, true},
		{":9542", nil, false},
		{"0.0.0.0:9542", nil, false},
		{"10.0.0.5:9542", nil, false},
		{":9542", []string{":9542"}, true},
		{":9543", []string{":9542"}, false},
		{"10.0.0.5:1", []string{"*"}, true},
		{"no-port", []string{"*"}, false},
	} {
		err := Policy{Listen: tc.allow}.CheckListen(tc.addr)
		if (err == nil) != tc.ok {
			t.Errorf("CheckListen(%q) with %v = %v, want ok=%v", tc.addr, tc.allow, err, tc.ok)
		}
	}
}

func TestCheckRedis(t *testing.T) {
	open := Policy{}
	if err := open.CheckRedis("attacker.example:6379"); err != nil || !open.RedisUnbounded() {
		t.Errorf("no allow list: %v, unbounded %v; want any address allowed, and said so", err, open.RedisUnbounded())
	}
	listed := Policy{Redis: []string{"redis:6379"}}
	if err := listed.CheckRedis("redis:6379"); err != nil {
		t.Errorf("listed address refused: %v", err)
	}
	if err := listed.CheckRedis("attacker.example:6379"); err == nil || !strings.Contains(err.Error(), EnvRedis) {
		t.Errorf("unlisted address: %v, want a refusal naming %s", err, EnvRedis)
	}
}

func TestCheckSidecarEnv(t *testing.T) {
	for _, entry := range []string{"LD_PRELOAD=/tmp/x.so", "LD_LIBRARY_PATH=/tmp", "LD_AUDIT=/tmp/a.so", "DYLD_INSERT_LIBRARIES=/x",
		"GCONV_PATH=/tmp", "GLIBC_TUNABLES=x", "PYTHONPATH=/tmp", "PATH=/tmp", "ORT_LIB=/tmp/x.so", "MALLOC_CONF=x", "OPENSSL_CONF=/tmp/c"} {
		if err := CheckSidecarEnv(entry); err == nil {
			t.Errorf("CheckSidecarEnv(%q) allowed it", entry)
		}
	}
	for _, entry := range []string{"CUDA_VISIBLE_DEVICES=0", "OMP_NUM_THREADS=2", "MODELGATE_MODEL_KEY=ab", "GOMAXPROCS=2", "ld_preload=lowercase-is-not-read"} {
		if err := CheckSidecarEnv(entry); err != nil {
			t.Errorf("CheckSidecarEnv(%q) = %v, want it allowed", entry, err)
		}
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvSidecarCommands, "/a/sidecar::/b/sidecar")
	t.Setenv(EnvSidecarFlags, "ort-lib, cpuprofile")
	t.Setenv(EnvListen, ":9542")
	t.Setenv(EnvRedis, "")
	t.Setenv(EnvSidecarPassEnv, "MY_KEY")
	t.Setenv("ORT_LIB", "/lib/ort.so")
	p := FromEnv()
	if strings.Join(p.SidecarCommands, "|") != "/a/sidecar|/b/sidecar" || strings.Join(p.SidecarFlags, "|") != "ort-lib|cpuprofile" ||
		strings.Join(p.Listen, "|") != ":9542" || p.Redis != nil || strings.Join(p.SidecarPassEnv, "|") != "MY_KEY" || p.ORTLib != "/lib/ort.so" || p.Executable == "" {
		t.Errorf("FromEnv() = %+v", p)
	}
}
