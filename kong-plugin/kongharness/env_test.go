package kongharness_test

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

func TestWorkerEnv(t *testing.T) {
	for _, tt := range []struct {
		name string
		kong []string
		want []string
	}{
		{"nothing named: only TZ", []string{"PATH=/bin", "TZ=UTC", "MODELGATE_LOG_LEVEL=debug"}, []string{"TZ=UTC"}},
		{"no TZ, nothing named", []string{"PATH=/bin"}, []string{}},
		{"one name", []string{"PATH=/bin", "HOME=/root", "KONG_NGINX_MAIN_ENV=PATH"}, []string{"PATH=/bin"}},
		{
			"several names, the image's way",
			[]string{"PATH=/bin", "ORT_LIB=/lib/ort.so", "SECRET=x", "KONG_NGINX_MAIN_ENV=PATH; env ORT_LIB; env MISSING"},
			[]string{"PATH=/bin", "ORT_LIB=/lib/ort.so"},
		},
		{
			"a value set in the directive",
			[]string{"A=1", "KONG_NGINX_MAIN_ENV=A;env B=2 ;  env  C=x=y"},
			[]string{"A=1", "B=2", "C=x=y"},
		},
		{"the last entry wins", []string{"A=1", "A=2", "KONG_NGINX_MAIN_ENV=A"}, []string{"A=2"}},
		{"other directives are not env", []string{"A=1", "KONG_NGINX_MAIN_ENV=A; worker_rlimit_core 1"}, []string{"A=1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := kongharness.WorkerEnv(tt.kong)
			if got == nil || !slices.Equal(got, tt.want) {
				t.Errorf("WorkerEnv(%q) = %#v, want %#v", tt.kong, got, tt.want)
			}
		})
	}
}

// TestPluginServerGetsKongsWorkerEnv reads the running plugin server's
// environment: only what KONG_NGINX_MAIN_ENV names (and TZ) is there.
func TestPluginServerGetsKongsWorkerEnv(t *testing.T) {
	srv := startServer(t, kongharness.Options{
		Environ: []string{"PATH=" + os.Getenv("PATH"), "NOT_NAMED=1", "NAMED=2", "TZ=UTC"},
		Env:     []string{"KONG_NGINX_MAIN_ENV=PATH; env NAMED; env SET_HERE=3"},
	})
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(srv.Pid()) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, kv := range bytes.Split(bytes.TrimRight(raw, "\x00"), []byte{0}) {
		got[string(kv)] = true
	}
	for _, want := range []string{"PATH=" + os.Getenv("PATH"), "NAMED=2", "SET_HERE=3", "TZ=UTC"} {
		if !got[want] {
			t.Errorf("the plugin server lacks %s: %v", want, got)
		}
	}
	for kv := range got {
		name, _, _ := strings.Cut(kv, "=")
		// os/exec adds PWD for a process with its own working folder, as a shell would.
		if !slices.Contains([]string{"PATH", "NAMED", "SET_HERE", "TZ", "PWD"}, name) {
			t.Errorf("the plugin server has %s, which nginx would not pass", kv)
		}
	}
}
