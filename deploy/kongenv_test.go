package deploy

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// dockerDefaultPath is the PATH Docker gives a container whose image sets
// none (Kong's image sets none).
const dockerDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// imageEnv is the environment the Kong image starts with: Docker's PATH and
// the Dockerfile's ENV (the base image's own aside).
func imageEnv(t *testing.T) []string {
	t.Helper()
	env := []string{dockerDefaultPath}
	m := parseDockerfile(t).env(t, "kong")
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+m[k])
	}
	return env
}

// TestPluginServerEnvironment computes, for each way the image runs, what
// the plugin server started by Kong sees (kongharness.WorkerEnv: nginx
// passes only what KONG_NGINX_MAIN_ENV names), and checks that what the
// operator sets reaches it: the log level everywhere, and in the image's own
// launch mode (the root kong.yml) what the sidecar it launches needs,
// MODELGATE_MODEL_KEY for encrypted models included.
func TestPluginServerEnvironment(t *testing.T) {
	image := imageEnv(t)

	compose := slices.Clone(image)
	kong := service(t, loadCompose(t, "deploy/docker-compose.yml"), "kong")
	for k, v := range kong.Environment {
		if v != nil {
			compose = append(compose, k+"="+*v)
		}
	}

	k8s := slices.Clone(image)
	_, kongContainer, _ := gatewayPod(t, k8sObjects(t))
	for _, e := range kongContainer.Env {
		if e.ValueFrom == nil {
			k8s = append(k8s, e.Name+"="+e.Value)
		}
	}

	for _, tt := range []struct {
		name string
		env  []string
		want []string // NAME (any value) or NAME=VALUE
	}{
		{
			"image alone, docker run -e MODELGATE_MODEL_KEY -e MODELGATE_LOG_LEVEL -e MODELGATE_DEMO",
			append(slices.Clone(image), "MODELGATE_MODEL_KEY=00112233", "MODELGATE_LOG_LEVEL=debug", "MODELGATE_DEMO=1"),
			[]string{"PATH", "ORT_LIB", "MODELGATE_MODEL_KEY=00112233", "MODELGATE_LOG_LEVEL=debug", "MODELGATE_DEMO=1"},
		},
		{"image alone, defaults", image, []string{"PATH", "ORT_LIB", "MODELGATE_LOG_LEVEL"}},
		{"docker-compose.yml kong", compose, []string{"MODELGATE_LOG_LEVEL"}},
		{"k8s kong container", k8s, []string{"MODELGATE_LOG_LEVEL"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := kongharness.WorkerEnv(tt.env)
			for _, w := range tt.want {
				has := func(kv string) bool {
					if strings.Contains(w, "=") {
						return kv == w
					}
					return strings.HasPrefix(kv, w+"=")
				}
				if !slices.ContainsFunc(got, has) {
					t.Errorf("the plugin server does not get %s: nginx passes only %v (KONG_NGINX_MAIN_ENV)", w, got)
				}
			}
		})
	}
}

// TestK8sKongWorkersFollowCPULimit: nginx_main_worker_processes comes from
// the Kong container's CPU limit. Kong's default, auto, counts the node's
// CPUs, not the container's.
func TestK8sKongWorkersFollowCPULimit(t *testing.T) {
	_, kong, _ := gatewayPod(t, k8sObjects(t))
	if _, ok := kong.Resources.Limits[corev1.ResourceCPU]; !ok {
		t.Error("kong: no CPU limit (limits.cpu would then be the node's allocatable CPUs)")
	}
	i := slices.IndexFunc(kong.Env, func(e corev1.EnvVar) bool { return e.Name == "KONG_NGINX_MAIN_WORKER_PROCESSES" })
	if i < 0 {
		t.Fatal("kong: no KONG_NGINX_MAIN_WORKER_PROCESSES: Kong's default, auto, starts one worker per CPU of the node")
	}
	e := kong.Env[i]
	if e.ValueFrom == nil || e.ValueFrom.ResourceFieldRef == nil {
		t.Fatalf("kong: KONG_NGINX_MAIN_WORKER_PROCESSES=%q is not taken from the container's CPU limit", e.Value)
	}
	ref := e.ValueFrom.ResourceFieldRef
	if ref.Resource != "limits.cpu" || (ref.ContainerName != "" && ref.ContainerName != kong.Name) {
		t.Errorf("kong: KONG_NGINX_MAIN_WORKER_PROCESSES from %s of container %q, want limits.cpu of kong", ref.Resource, ref.ContainerName)
	}
	if !ref.Divisor.IsZero() && ref.Divisor.Cmp(resource.MustParse("1")) != 0 {
		t.Errorf("kong: KONG_NGINX_MAIN_WORKER_PROCESSES divisor %s, want 1 (whole CPUs)", ref.Divisor.String())
	}
}

// TestK8sKongWarmsUpThroughTheProxy: the pod takes traffic only after a
// request through Kong's proxy port has started the plugin instance and
// found the sidecar ready (Kong starts plugin instances lazily).
func TestK8sKongWarmsUpThroughTheProxy(t *testing.T) {
	_, kong, _ := gatewayPod(t, k8sObjects(t))
	p := kong.StartupProbe
	if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/v2/health/ready" {
		t.Fatal("kong: no startupProbe GET /v2/health/ready: the first request after a start would start the plugin instance")
	}
	if port := p.HTTPGet.Port; port.String() != "proxy" && port.IntValue() != proxyPort {
		t.Errorf("kong: startupProbe on port %s, want the proxy port", port.String())
	}
	timeout, _ := time.ParseDuration(dig(modelgatePlugins(t, "deploy/kong/kong.yml", repoFile(t, "deploy/kong/kong.yml"))[0], "limits", "default_timeout").(string))
	if time.Duration(p.TimeoutSeconds)*time.Second <= timeout {
		t.Errorf("kong: startupProbe timeout %ds; the request may wait limits.default_timeout (%v) for the sidecar's first start", p.TimeoutSeconds, timeout)
	}
}

// TestAttachedSidecarsGetTheModelKey: a sidecar in its own container gets
// the key of encrypted models from its own environment, not through Kong.
func TestAttachedSidecarsGetTheModelKey(t *testing.T) {
	sidecar := service(t, loadCompose(t, "deploy/docker-compose.yml"), "sidecar")
	if _, ok := sidecar.Environment["MODELGATE_MODEL_KEY"]; !ok {
		t.Error("compose sidecar: no MODELGATE_MODEL_KEY")
	}
	_, _, k8sSidecar := gatewayPod(t, k8sObjects(t))
	if !slices.ContainsFunc(k8sSidecar.Env, func(e corev1.EnvVar) bool { return e.Name == "MODELGATE_MODEL_KEY" }) {
		t.Error("k8s sidecar: no MODELGATE_MODEL_KEY")
	}
}
