package trust

import (
	"fmt"
	"strings"
)

// dangerousEnv are variables that make a process load code, read a file as
// configuration or change how names resolve; sidecar.env may not set them.
// ORT_LIB is here because it is what --ort-lib is: a library to load.
var dangerousEnv = map[string]bool{
	"GCONV_PATH": true, "GLIBC_TUNABLES": true, "LOCPATH": true, "NLSPATH": true,
	"HOSTALIASES": true, "RES_OPTIONS": true, "LOCALDOMAIN": true,
	"PATH": true, "IFS": true, "ENV": true, "BASH_ENV": true, "SHELLOPTS": true,
	"OPENSSL_CONF": true, "OPENSSL_ENGINES": true, "OPENSSL_MODULES": true,
	"SSL_CERT_FILE": true, "SSL_CERT_DIR": true,
	"NODE_OPTIONS": true, "JAVA_TOOL_OPTIONS": true,
	"GOCOVERDIR": true, "ORT_LIB": true, "TMPDIR": true,
	"CUDA_CACHE_PATH": true,
}

// dangerousEnvPrefixes are families of such variables: the dynamic
// loader's (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT; DYLD_* on macOS),
// malloc's, and interpreters' start-up hooks.
var dangerousEnvPrefixes = []string{"LD_", "DYLD_", "MALLOC_", "PYTHON", "PERL", "RUBY"}

// CheckSidecarEnv reports whether sidecar.env may set the variable of one
// NAME=VALUE entry. Names are compared as written: Linux's loader and
// glibc read them case-sensitively.
func CheckSidecarEnv(entry string) error {
	name, _, _ := strings.Cut(entry, "=")
	if dangerousEnv[name] {
		return fmt.Errorf("%s may not be set from the plugin config (it loads code or redirects files); the operator sets it in the plugin server's environment", name)
	}
	for _, prefix := range dangerousEnvPrefixes {
		if strings.HasPrefix(name, prefix) {
			return fmt.Errorf("%s may not be set from the plugin config (%s* variables load code); the operator sets them in the plugin server's environment", name, prefix)
		}
	}
	return nil
}
