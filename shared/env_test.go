package shared

import (
	"slices"
	"testing"
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
