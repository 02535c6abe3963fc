package deploy

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/modelgate/modelgate/internal/testutil"
)

// loadCompose loads deploy/docker-compose.yml (and overrides) with
// compose-go, schema validation and consistency checks on, as `docker
// compose config` does.
func loadCompose(t *testing.T, files ...string) *types.Project {
	t.Helper()
	p, err := loadComposeEnv(types.Mapping{}, files...)
	if err != nil {
		t.Fatalf("%v: %v", files, err)
	}
	return p
}

// loadComposeEnv is loadCompose with the environment compose interpolates from.
func loadComposeEnv(env types.Mapping, files ...string) (*types.Project, error) {
	root := testutil.RepoRoot()
	details := types.ConfigDetails{
		WorkingDir:  filepath.Join(root, "deploy"),
		Environment: env,
	}
	for _, f := range files {
		details.ConfigFiles = append(details.ConfigFiles, types.ConfigFile{Filename: filepath.Join(root, f)})
	}
	return loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SkipValidation = false
		o.SkipConsistencyCheck = false
		o.ResolvePaths = true
		o.SetProjectName("modelgate", true)
	})
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("compose: %v", err)
	}
	return s
}

func volumeAt(s types.ServiceConfig, target string) *types.ServiceVolumeConfig {
	for i := range s.Volumes {
		if s.Volumes[i].Target == target {
			return &s.Volumes[i]
		}
	}
	return nil
}

func TestComposeLoads(t *testing.T) {
	p := loadCompose(t, "deploy/docker-compose.yml")
	kong, sidecar, redis := service(t, p, "kong"), service(t, p, "sidecar"), service(t, p, "redis")

	// The socket volume, shared at the socket folder.
	if _, ok := p.Volumes[socketVolume]; !ok {
		t.Errorf("no volume %q", socketVolume)
	}
	for _, s := range []types.ServiceConfig{kong, sidecar} {
		v := volumeAt(s, socketDir)
		if v == nil || v.Type != types.VolumeTypeVolume || v.Source != socketVolume {
			t.Errorf("service %s: %s is not the %s volume", s.Name, socketDir, socketVolume)
		}
	}

	// The images come from the Dockerfile's two targets.
	d := parseDockerfile(t)
	for name, target := range map[string]string{"kong": "kong", "sidecar": "sidecar"} {
		s := service(t, p, name)
		if s.Build == nil || s.Build.Target != target {
			t.Errorf("service %s: not built from the Dockerfile target %s", name, target)
			continue
		}
		d.stage(t, target)
		if got := filepath.Join(s.Build.Context, s.Build.Dockerfile); got != filepath.Join(testutil.RepoRoot(), "Dockerfile") &&
			s.Build.Dockerfile != "Dockerfile" {
			t.Errorf("service %s: Dockerfile %s", name, got)
		}
	}

	// The image names `make image` tags.
	image, tag := makeVar(t, "IMAGE"), makeVar(t, "IMAGE_TAG")
	for name, want := range map[string]string{"kong": image + ":" + tag, "sidecar": image + "-sidecar:" + tag} {
		if got := service(t, p, name).Image; got != want {
			t.Errorf("service %s: image %q, want %q (make image)", name, got, want)
		}
	}

	// The sidecar: its command and health check.
	checkSidecarServe(t, "compose sidecar command", sidecar.Command, productionMaxMessageBytes(t))
	if hc := sidecar.HealthCheck; hc == nil || len(hc.Test) < 2 || hc.Test[0] != "CMD" {
		t.Error("compose sidecar: no exec-form health check")
	} else {
		// Liveness: the Kubernetes policy after startup (docker-compose.yml says why).
		checkProbe(t, "compose sidecar healthcheck", hc.Test[1:], false)
	}
	if sidecar.StopSignal != "SIGTERM" {
		t.Errorf("compose sidecar: stop_signal %q, want SIGTERM", sidecar.StopSignal)
	}

	// Kong: the production kong.yml, mounted where KONG_DECLARATIVE_CONFIG says.
	decl := kong.Environment["KONG_DECLARATIVE_CONFIG"]
	if decl == nil {
		t.Fatal("compose kong: KONG_DECLARATIVE_CONFIG not set")
	}
	if got := mountedFile(t, kong, *decl); got != filepath.Join(testutil.RepoRoot(), "deploy/kong/kong.yml") {
		t.Errorf("compose kong: %s is %s, not deploy/kong/kong.yml", *decl, got)
	}
	if hc := kong.HealthCheck; hc == nil || !slices.Equal(hc.Test, types.HealthCheckTest{"CMD", "kong", "health"}) {
		t.Error("compose kong: health check is not `kong health`")
	}
	for _, dep := range []string{"sidecar", "redis"} {
		if kong.DependsOn[dep].Condition != types.ServiceConditionHealthy {
			t.Errorf("compose kong: does not wait for %s to be healthy", dep)
		}
	}
	published := map[string]bool{}
	for _, port := range kong.Ports {
		published[strconv.Itoa(int(port.Target))] = true
	}
	for _, port := range []int{proxyPort, statusPort, pluginMetricsPort} {
		if !published[strconv.Itoa(port)] {
			t.Errorf("compose kong: port %d not published", port)
		}
	}

	// Secrets: every file deploy/kong/kong.yml reads is mounted there.
	targets := map[string]bool{}
	for _, s := range kong.Secrets {
		targets[s.Target] = true
	}
	for _, f := range productionSecretFiles(t) {
		if !targets[secretsDir+"/"+f] {
			t.Errorf("compose kong: deploy/kong/kong.yml reads %s/%s, which no secret provides", secretsDir, f)
		}
	}

	// Redis: the service name and port kong.yml dials.
	if redis.Name != redisService {
		t.Errorf("redis service is %q", redis.Name)
	}
	if !strings.Contains(strings.Join(redis.Command, " "), "redis-server") {
		t.Errorf("compose redis: command %q", redis.Command)
	}
}

func TestComposeGPUOverride(t *testing.T) {
	p := loadCompose(t, "deploy/docker-compose.yml", "deploy/docker-compose.gpu.yml")
	sidecar := service(t, p, "sidecar")
	if sidecar.Build == nil || sidecar.Build.Args["VARIANT"] == nil || *sidecar.Build.Args["VARIANT"] != "gpu" {
		t.Error("GPU override: the sidecar is not built with VARIANT=gpu")
	}
	if want := makeVar(t, "IMAGE") + "-sidecar:" + makeVar(t, "IMAGE_TAG") + "-gpu"; sidecar.Image != want {
		t.Errorf("GPU override: sidecar image %q, want %q (make image-gpu)", sidecar.Image, want)
	}
	var gpu bool
	if sidecar.Deploy != nil && sidecar.Deploy.Resources.Reservations != nil {
		for _, dev := range sidecar.Deploy.Resources.Reservations.Devices {
			if slices.Contains(dev.Capabilities, "gpu") {
				gpu = true
			}
		}
	}
	if !gpu {
		t.Error("GPU override: the sidecar reserves no GPU device")
	}
	if kong := service(t, p, "kong"); kong.Deploy != nil && kong.Deploy.Resources.Reservations != nil &&
		len(kong.Deploy.Resources.Reservations.Devices) > 0 {
		t.Error("GPU override: kong reserves a device; only the sidecar needs the GPU")
	}
}

// mountedFile returns the host file a service sees at target: through a
// bind mount of its folder (a mount of the file itself fails the test).
func mountedFile(t *testing.T, s types.ServiceConfig, target string) string {
	t.Helper()
	if v := volumeAt(s, target); v != nil {
		t.Errorf("compose %s: %s is bind-mounted as a single file: an edit that writes a new file "+
			"(sed -i, most editors) is never seen, and `kong reload` reloads the old one; mount its folder", s.Name, target)
		return v.Source
	}
	v := volumeAt(s, path.Dir(target))
	if v == nil || v.Type != types.VolumeTypeBind {
		t.Fatalf("compose %s: no folder bind-mounted at %s", s.Name, path.Dir(target))
	}
	return filepath.Join(v.Source, path.Base(target))
}

// TestComposeMountsKongYMLFolder: Kong's declarative config comes from a
// bind-mounted folder, so `kong reload` after an edit reads the new file.
func TestComposeMountsKongYMLFolder(t *testing.T) {
	kong := service(t, loadCompose(t, "deploy/docker-compose.yml"), "kong")
	decl := kong.Environment["KONG_DECLARATIVE_CONFIG"]
	if decl == nil {
		t.Fatal("compose kong: KONG_DECLARATIVE_CONFIG not set")
	}
	host := mountedFile(t, kong, *decl)
	if fi, err := os.Stat(filepath.Dir(host)); err != nil || !fi.IsDir() {
		t.Errorf("compose kong: %s is not a folder: %v", filepath.Dir(host), err)
	}
	if v := volumeAt(kong, path.Dir(*decl)); v != nil && !v.ReadOnly {
		t.Errorf("compose kong: %s is mounted read-write", v.Target)
	}
}
