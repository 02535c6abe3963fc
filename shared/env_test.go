package shared

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
)

// The launched sidecar gets what ONNX Runtime, CUDA and the model key need,
// the variables passed by name and the config's own entries, never the rest
// of the plugin server's environment (issue 12, item 10).
func TestLaunchEnv(t *testing.T) {
	environ := []string{
		"PATH=/usr/bin", "HOME=/home/kong", "TZ=UTC", "LANG=C.UTF-8", "LC_ALL=C",
		"ORT_LIB=/usr/lib/libonnxruntime.so.1", "LD_LIBRARY_PATH=/usr/local/cuda/lib64", "CUDA_VISIBLE_DEVICES=0",
		"MODELGATE_MODEL_KEY=k", "MY_MODEL_KEY=k2",
		"MODELGATE_REDIS_PASSWORD=secret", "JWT_HMAC=secret", "AWS_SECRET_ACCESS_KEY=secret", "LD_PRELOAD=/x.so",
	}
	got := launchEnv(environ, []string{"MY_MODEL_KEY"}, []string{"OMP_NUM_THREADS=2", "TZ=Europe/Paris"})
	want := []string{
		"PATH=/usr/bin", "HOME=/home/kong", "TZ=UTC", "LANG=C.UTF-8", "LC_ALL=C",
		"ORT_LIB=/usr/lib/libonnxruntime.so.1", "LD_LIBRARY_PATH=/usr/local/cuda/lib64", "CUDA_VISIBLE_DEVICES=0",
		"MODELGATE_MODEL_KEY=k", "MY_MODEL_KEY=k2",
		"OMP_NUM_THREADS=2", "TZ=Europe/Paris",
	}
	if !slices.Equal(got, want) {
		t.Errorf("launchEnv =\n%q\nwant\n%q", got, want)
	}
	if got := launchEnv(nil, nil, nil); got == nil {
		t.Error("launchEnv of nothing is nil: os/exec would pass the whole environment")
	}
}

// A real launched sidecar's environment holds none of the launcher's other
// variables (an env: secret of the plugin server, say), but the ones passed.
func TestLaunchedSidecarEnvironment(t *testing.T) {
	t.Setenv("MODELGATE_TEST_PLUGIN_SECRET", "s3cret")
	t.Setenv("MODELGATE_TEST_MODEL_KEY", "passed")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Launch(ctx, LaunchConfig{
		Command: testutil.Binary(t, "modelgate-sidecar"),
		Args:    []string{"--models", testutil.TestModels(), "--intra-op-threads", "1", "--ort-lib", testutil.ORTLib(t)},
		Env:     []string{"OMP_NUM_THREADS=1"},
		PassEnv: []string{"MODELGATE_TEST_MODEL_KEY"},
		Logger:  testutil.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", c.plugin.ReattachConfig().Pid))
	if err != nil {
		t.Fatal(err)
	}
	vars := strings.Split(string(environ), "\x00")
	for _, want := range []string{"MODELGATE_TEST_MODEL_KEY=passed", "OMP_NUM_THREADS=1", "PATH=" + os.Getenv("PATH")} {
		if !slices.Contains(vars, want) {
			t.Errorf("the sidecar lacks %s", want)
		}
	}
	for _, v := range vars {
		if strings.HasPrefix(v, "MODELGATE_TEST_PLUGIN_SECRET=") {
			t.Error("the sidecar inherited the launcher's secret variable")
		}
	}
}
