package kongharness

import (
	"os"
	"slices"
	"strings"
)

// WorkerEnv returns the environment a plugin server started by Kong 3.9.3
// sees, given the environment Kong itself runs with (a container's).
//
// Kong's worker 0 spawns the plugin server (kong/runloop/plugin_servers/
// process.lua: ngx.pipe's spawn with no environ of its own, so the child
// inherits the worker's). nginx clears the environment of its workers
// except TZ and the variables named by `env` directives. Kong writes no `env`
// directive of its own: kong/templates/nginx.lua renders every nginx_main_*
// setting as "name value;" (kong/conf_loader/parse.lua collects them from
// KONG_NGINX_MAIN_* variables), so KONG_NGINX_MAIN_ENV="PATH; env ORT_LIB"
// becomes `env PATH; env ORT_LIB;`, and is the only way to pass anything.
// `env NAME` passes NAME's value when Kong has it; `env NAME=VALUE` sets it.
func WorkerEnv(kongEnv []string) []string {
	lookup := func(name string) (string, bool) {
		// The last entry wins, as for os/exec.
		for i := len(kongEnv) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(kongEnv[i], "="); ok && k == name {
				return v, true
			}
		}
		return "", false
	}
	out := []string{} // not nil: os/exec would pass a nil Env's whole environment
	add := func(name, value string) {
		out = slices.DeleteFunc(out, func(kv string) bool { return strings.HasPrefix(kv, name+"=") })
		out = append(out, name+"="+value)
	}
	if tz, ok := lookup("TZ"); ok {
		add("TZ", tz)
	}
	value, ok := lookup("KONG_NGINX_MAIN_ENV")
	if !ok {
		return out
	}
	for _, directive := range strings.Split("env "+value+";", ";") {
		fields := strings.Fields(directive)
		if len(fields) != 2 || fields[0] != "env" {
			continue // not an env directive (nginx would read it as another one, or refuse it)
		}
		if name, v, set := strings.Cut(fields[1], "="); set {
			add(name, v)
		} else if v, ok := lookup(name); ok {
			add(name, v)
		}
	}
	return out
}

// kongEnv is the environment Kong runs with under these options.
func (o Options) kongEnv() []string {
	base := o.Environ
	if base == nil {
		base = os.Environ()
	}
	return slices.Concat(base, o.Env)
}
