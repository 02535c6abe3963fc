package main

import "os"

// allowBenchFlags plays the operator for the gateways the bench starts. Their
// sidecars get --ort-lib (the bench's library) and, with -profile,
// --cpuprofile, which the plugin refuses unless the operator allows them in
// MODELGATE_ALLOW_SIDECAR_FLAGS (README, "What the plugin config may do").
// `modelgate serve` inherits this process's environment; the plugin server
// of the Kong path gets only what KONG_NGINX_MAIN_ENV names, as under Kong,
// so the bench names the setting there as Kong's operator would, with
// MODELGATE_SECRET_DIRS, through which each path allows its model repository.
func allowBenchFlags() {
	const flags = "MODELGATE_ALLOW_SIDECAR_FLAGS"
	_ = os.Setenv(flags, "ort-lib,cpuprofile")
	env := "PATH"
	if cur := os.Getenv("KONG_NGINX_MAIN_ENV"); cur != "" {
		env = cur
	}
	_ = os.Setenv("KONG_NGINX_MAIN_ENV", env+"; env ORT_LIB; env "+flags+"; env MODELGATE_SECRET_DIRS")
}
