package shared

import (
	"slices"
	"strings"
)

// inheritedEnv are the variables of the launching process that a sidecar
// gets: what finding and running ONNX Runtime and CUDA needs (as the
// operator set it), locale and time zone, Go runtime knobs and the model
// key. Nothing else: the plugin server's environment holds its own secrets
// (Redis passwords, HMAC secrets named by env: references).
var inheritedEnv = []string{
	"PATH", "HOME", "USER", "TZ", "LANG", "LANGUAGE", "TMPDIR",
	"ORT_LIB", "LD_LIBRARY_PATH",
	"MODELGATE_MODEL_KEY", "MODELGATE_LOG_LEVEL",
	"GOMAXPROCS", "GOMEMLIMIT", "GOGC", "GODEBUG", "GOTRACEBACK", "GORACE",
	"OMP_NUM_THREADS",
}

// inheritedEnvPrefixes are families of such variables.
var inheritedEnvPrefixes = []string{"LC_", "CUDA_", "NVIDIA_", "CUDNN_", "TF_ENABLE_ONEDNN", "ORT_"}

// launchEnv is a launched sidecar's environment: the inherited variables
// of environ, those named in pass, then extra (later entries win).
func launchEnv(environ, pass, extra []string) []string {
	out := []string{} // never nil: os/exec passes the whole environment for a nil Env
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if ok && (slices.Contains(inheritedEnv, name) || slices.Contains(pass, name) || hasAnyPrefix(name, inheritedEnvPrefixes)) {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
