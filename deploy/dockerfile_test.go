package deploy

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/modelgate/modelgate/internal/testutil"
)

// dockerfile is the parsed Dockerfile: its stages and global ARG defaults.
type dockerfile struct {
	stages   []instructions.Stage
	metaArgs map[string]string
}

// parseDockerfile parses the root Dockerfile with BuildKit's own parser and
// instruction decoder, as `docker build` does.
func parseDockerfile(t *testing.T) dockerfile {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(repoFile(t, "Dockerfile")))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: parser warning: %s", w.Short)
	}
	// BuildKit's parse-time lint rules (those `docker build --check` runs
	// while parsing): any warning fails.
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		t.Errorf("Dockerfile: lint %s: %s (line %v)", rule, msg, loc)
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	d := dockerfile{stages: stages, metaArgs: map[string]string{}}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				d.metaArgs[kv.Key] = *kv.Value
			}
		}
	}
	return d
}

func (d dockerfile) stage(t *testing.T, name string) instructions.Stage {
	t.Helper()
	for _, s := range d.stages {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("Dockerfile: no stage %q", name)
	return instructions.Stage{}
}

// chain is a stage and the stages it is built FROM, nearest first.
func (d dockerfile) chain(t *testing.T, name string, args map[string]string) []instructions.Stage {
	t.Helper()
	var out []instructions.Stage
	for {
		s := d.stage(t, name)
		out = append(out, s)
		base := expand(t, s.BaseName, args)
		if !slices.ContainsFunc(d.stages, func(o instructions.Stage) bool { return o.Name == base }) {
			return out
		}
		name = base
	}
}

// env is the environment a target stage's containers start with, as set by
// ENV in it and the stages below it (base images' own ENV aside).
func (d dockerfile) env(t *testing.T, target string) map[string]string {
	t.Helper()
	chain := d.chain(t, target, d.metaArgs)
	env := map[string]string{}
	for i := len(chain) - 1; i >= 0; i-- {
		for _, c := range chain[i].Commands {
			if e, ok := c.(*instructions.EnvCommand); ok {
				for _, kv := range e.Env {
					env[kv.Key] = expand(t, kv.Value, env)
				}
			}
		}
	}
	return env
}

// last returns the last command of type T in a target stage and the stages
// below it: the one that takes effect.
func last[T instructions.Command](t *testing.T, d dockerfile, target string) T {
	t.Helper()
	for _, s := range d.chain(t, target, d.metaArgs) {
		for i := len(s.Commands) - 1; i >= 0; i-- {
			if c, ok := s.Commands[i].(T); ok {
				return c
			}
		}
	}
	var zero T
	t.Fatalf("Dockerfile: stage %s has no %T", target, zero)
	return zero
}

type mapEnv map[string]string

func (m mapEnv) Get(k string) (string, bool) { v, ok := m[k]; return v, ok }
func (m mapEnv) Keys() []string              { return slices.Collect(maps.Keys(m)) }

// expand does the Dockerfile's own quoting and $VAR expansion of one word.
func expand(t *testing.T, word string, env map[string]string) string {
	t.Helper()
	out, _, err := shell.NewLex('\\').ProcessWord(word, mapEnv(env))
	if err != nil {
		t.Fatalf("Dockerfile: expanding %q: %v", word, err)
	}
	return out
}

func TestDockerfileParses(t *testing.T) {
	d := parseDockerfile(t)
	for _, want := range []string{"build", "ort-cpu", "ort-gpu", "cuda-libs", "runtime-cpu", "runtime-gpu", "app", "sidecar", "kong"} {
		d.stage(t, want)
	}
	if got := d.stages[len(d.stages)-1].Name; got != "kong" {
		t.Errorf("the last stage (the default target) is %q, want kong", got)
	}
	for _, v := range []string{"cpu", "gpu"} {
		args := maps.Clone(d.metaArgs)
		args["VARIANT"] = v
		for _, s := range []string{"ort", "app"} {
			chain := d.chain(t, s, args)
			if got, want := chain[1].Name, map[string]string{"ort": "ort-", "app": "runtime-"}[s]+v; got != want {
				t.Errorf("VARIANT=%s: stage %s is built from %s, want %s", v, s, got, want)
			}
		}
	}
	for _, name := range []string{"KONG_IMAGE", "GO_IMAGE", "NODE_IMAGE", "CUDA_IMAGE"} {
		img := d.metaArgs[name]
		if _, tag, ok := strings.Cut(img, ":"); !ok || tag == "" || strings.HasPrefix(tag, "latest") {
			t.Errorf("ARG %s=%q: base images are pinned to a tag", name, img)
		}
	}
	if kong := d.metaArgs["KONG_IMAGE"]; !regexp.MustCompile(`^kong:3\.\d+\.\d+`).MatchString(kong) {
		t.Errorf("KONG_IMAGE %q is not the official Kong 3.x image at a pinned version", kong)
	}
	if cuda := d.metaArgs["CUDA_IMAGE"]; !strings.Contains(cuda, ":13.") || !strings.Contains(cuda, "runtime") {
		t.Errorf("CUDA_IMAGE %q is not a CUDA 13 runtime image", cuda)
	}
}

// TestDockerfileCopiesExist checks that every file COPY takes from the build
// context is in the repository and survives .dockerignore, and that every
// COPY --from names a stage.
func TestDockerfileCopiesExist(t *testing.T) {
	d := parseDockerfile(t)
	root := testutil.RepoRoot()
	patterns, err := ignorefile.ReadAll(bytes.NewReader(repoFile(t, ".dockerignore")))
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	ignore, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	copies := 0
	for _, s := range d.stages {
		for _, c := range s.Commands {
			cp, ok := c.(*instructions.CopyCommand)
			if !ok {
				if _, isAdd := c.(*instructions.AddCommand); isAdd {
					t.Errorf("stage %s: ADD (use COPY; nothing is downloaded unchecked)", s.Name)
				}
				continue
			}
			if cp.From != "" {
				if !slices.ContainsFunc(d.stages, func(o instructions.Stage) bool { return o.Name == cp.From }) {
					t.Errorf("stage %s: COPY --from=%s names no stage", s.Name, cp.From)
				}
				continue
			}
			for _, src := range cp.SourcePaths {
				copies++
				rel := path.Clean(src)
				if _, err := os.Stat(filepath.Join(root, rel)); err != nil {
					t.Errorf("stage %s: COPY %s: not in the repository: %v", s.Name, src, err)
					continue
				}
				checkInContext(t, root, rel, ignore)
			}
		}
	}
	if copies == 0 {
		t.Fatal("the Dockerfile copies nothing from the build context")
	}
}

// TestDockerfileBuildHasGoSources checks that the build stage copies every
// folder of this module the two binaries import: a new package outside them
// would build here and fail in `docker build`.
func TestDockerfileBuildHasGoSources(t *testing.T) {
	d := parseDockerfile(t)
	var copied []string
	for _, c := range d.stage(t, "build").Commands {
		if cp, ok := c.(*instructions.CopyCommand); ok && cp.From == "" {
			for _, src := range cp.SourcePaths {
				copied = append(copied, path.Clean(src))
			}
		}
	}
	const module = "github.com/modelgate/modelgate"
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./kong-plugin/cmd/modelgate", "./sidecar/cmd/modelgate-sidecar")
	cmd.Dir = testutil.RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		rel, ok := strings.CutPrefix(pkg, module+"/")
		if !ok {
			continue
		}
		if !slices.ContainsFunc(copied, func(c string) bool { return rel == c || strings.HasPrefix(rel, c+"/") }) {
			t.Errorf("the binaries import %s, which the build stage does not COPY", pkg)
		}
	}
	for _, want := range []string{"go.mod", "go.sum"} {
		if !slices.Contains(copied, want) {
			t.Errorf("the build stage does not COPY %s", want)
		}
	}
}

// checkInContext fails when .dockerignore drops rel, or everything under it.
func checkInContext(t *testing.T, root, rel string, ignore *patternmatcher.PatternMatcher) {
	t.Helper()
	kept := 0
	err := filepath.WalkDir(filepath.Join(root, rel), func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		r, _ := filepath.Rel(root, p)
		excluded, err := ignore.MatchesOrParentMatches(filepath.ToSlash(r))
		if err != nil {
			return err
		}
		if !excluded {
			kept++
		}
		return nil
	})
	if err != nil {
		t.Errorf("COPY %s: %v", rel, err)
	}
	if kept == 0 {
		t.Errorf("COPY %s: .dockerignore leaves none of it in the build context", rel)
	}
}

// TestDockerfileKongSettings checks the Kong image's settings against the
// shared names and the plugin config the image runs.
func TestDockerfileKongSettings(t *testing.T) {
	d := parseDockerfile(t)
	env := d.env(t, "kong")
	want := map[string]string{
		"KONG_DATABASE":                         "off",
		"KONG_PLUGINSERVER_NAMES":               pluginName,
		"KONG_PLUGINSERVER_MODELGATE_START_CMD": pluginServerStart,
		"KONG_PLUGINSERVER_MODELGATE_QUERY_CMD": pluginServerQuery,
		"KONG_PLUGINSERVER_MODELGATE_SOCKET":    pluginServerSocket,
		"KONG_DECLARATIVE_CONFIG":               "/opt/modelgate/deploy/kong/kong.yml",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("ENV %s=%q, want %q", k, env[k], v)
		}
	}
	if !slices.Contains(strings.Split(env["KONG_PLUGINS"], ","), "bundled") ||
		!slices.Contains(strings.Split(env["KONG_PLUGINS"], ","), pluginName) {
		t.Errorf("ENV KONG_PLUGINS=%q, want bundled,%s", env["KONG_PLUGINS"], pluginName)
	}
	if !strings.HasPrefix(env["KONG_PROXY_LISTEN"], "0.0.0.0:"+strconv.Itoa(proxyPort)) {
		t.Errorf("ENV KONG_PROXY_LISTEN=%q, want port %d", env["KONG_PROXY_LISTEN"], proxyPort)
	}
	if !strings.HasSuffix(env["KONG_STATUS_LISTEN"], ":"+strconv.Itoa(statusPort)) {
		t.Errorf("ENV KONG_STATUS_LISTEN=%q, want port %d", env["KONG_STATUS_LISTEN"], statusPort)
	}

	// nginx's body limit is the plugin's max_body_bytes, in every kong.yml
	// the image carries.
	for _, f := range []string{"kong.yml", "deploy/kong/kong.yml"} {
		for _, cfg := range modelgatePlugins(t, f, repoFile(t, f)) {
			limit, _ := dig(cfg, "limits", "max_body_bytes").(int)
			if limit == 0 {
				t.Errorf("%s: no limits.max_body_bytes", f)
				continue
			}
			if got := nginxSize(t, env["KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE"]); got != limit {
				t.Errorf("ENV KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE=%q is %d bytes; %s's limits.max_body_bytes is %d",
					env["KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE"], got, f, limit)
			}
		}
	}
}

// maxBodyBuffer bounds nginx's body buffer, the memory one request in flight
// may hold for its body. The buffer is not a limit: past it nginx writes the
// body to a temp file and Kong hands go-pdk the file's path, which go-pdk
// reads (Kong 3.9.3 kong/runloop/plugin_servers/rpc/pb_rpc.lua;
// kongharness' TestAsKongDrivesIt runs a request both ways). 1 MiB holds
// every ordinary inference body.
const maxBodyBuffer = 1 << 20

// TestDockerfileBodyBuffer: the buffer trades memory per request for a file
// write, so it is sized for ordinary bodies, not for the largest one.
func TestDockerfileBodyBuffer(t *testing.T) {
	env := parseDockerfile(t).env(t, "kong")
	buffer := nginxSize(t, env["KONG_NGINX_HTTP_CLIENT_BODY_BUFFER_SIZE"])
	largest := nginxSize(t, env["KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE"])
	if buffer <= 0 || buffer > maxBodyBuffer || buffer >= largest {
		t.Errorf("ENV KONG_NGINX_HTTP_CLIENT_BODY_BUFFER_SIZE=%q: want at most %d bytes and below the largest body (%d): "+
			"it is memory held per request, and a larger body still reaches the plugin through a temp file",
			env["KONG_NGINX_HTTP_CLIENT_BODY_BUFFER_SIZE"], maxBodyBuffer, largest)
	}
}

// TestDockerfileStartCmdNamesThePrefix: Kong dials KONG_PLUGINSERVER_MODELGATE_SOCKET;
// go-pdk listens on <-kong-prefix>/<binary name>.socket. The start command
// says the prefix instead of relying on go-pdk's default matching Kong's.
func TestDockerfileStartCmdNamesThePrefix(t *testing.T) {
	env := parseDockerfile(t).env(t, "kong")
	argv := strings.Fields(env["KONG_PLUGINSERVER_MODELGATE_START_CMD"])
	if len(argv) != 3 || argv[0] != pluginServerBin || strings.TrimLeft(argv[1], "-") != "kong-prefix" {
		t.Fatalf("ENV KONG_PLUGINSERVER_MODELGATE_START_CMD=%q: want %s -kong-prefix DIR", env["KONG_PLUGINSERVER_MODELGATE_START_CMD"], pluginServerBin)
	}
	if got, want := path.Join(argv[2], path.Base(pluginServerBin)+".socket"), env["KONG_PLUGINSERVER_MODELGATE_SOCKET"]; got != want {
		t.Errorf("the plugin server listens on %s, Kong dials %s", got, want)
	}
}

// TestDockerfileGPULibraries: the GPU image carries cuFFT, which the CUDA
// provider loads at run time, and no TensorRT provider, whose TensorRT
// libraries (libnvinfer, libnvonnxparser) neither Debian nor npm carries.
func TestDockerfileGPULibraries(t *testing.T) {
	d := parseDockerfile(t)
	if !regexp.MustCompile(`\blibcufft\.so\.`).MatchString(runScript(d.stage(t, "cuda-libs"))) {
		t.Error("stage cuda-libs does not copy libcufft, which the CUDA execution provider loads at run time")
	}
	for _, s := range []string{"ort-gpu", "runtime-gpu", "app"} {
		if script := runScript(d.stage(t, s)); strings.Contains(strings.ToLower(script), "tensorrt") {
			t.Errorf("stage %s installs a TensorRT provider; its TensorRT libraries are in no registry reachable here, so it could only fall back", s)
		}
	}
}

// nginxSize reads an nginx size ("8m", "512k", "1048576").
func nginxSize(t *testing.T, s string) int {
	t.Helper()
	mult := 1
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "m"), strings.HasSuffix(s, "M"):
		mult, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "g"), strings.HasSuffix(s, "G"):
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Errorf("nginx size %q: %v", s, err)
	}
	return n * mult
}

// TestDockerfileBinariesAndUser checks where the binaries land, what they are
// built from, the non-root user, the socket folder and the sidecar image.
func TestDockerfileBinariesAndUser(t *testing.T) {
	d := parseDockerfile(t)
	build := d.stage(t, "build")
	var runs []string
	for _, c := range build.Commands {
		if r, ok := c.(*instructions.RunCommand); ok {
			runs = append(runs, strings.Join(r.CmdLine, " "))
		}
	}
	script := strings.Join(runs, "\n")
	for out, pkg := range map[string]string{"modelgate": "./kong-plugin/cmd/modelgate", "modelgate-sidecar": "./sidecar/cmd/modelgate-sidecar"} {
		if !strings.Contains(script, "-o /out/"+out+" "+pkg) {
			t.Errorf("stage build does not build /out/%s from %s", out, pkg)
		}
	}
	var installed bool
	for _, c := range d.stage(t, "app").Commands {
		if cp, ok := c.(*instructions.CopyCommand); ok && cp.From == "build" {
			installed = cp.DestPath == path.Dir(pluginServerBin)+"/" &&
				slices.Equal(cp.SourcePaths, []string{"/out/" + path.Base(pluginServerBin), "/out/" + path.Base(sidecarBin)})
		}
	}
	if !installed {
		t.Errorf("stage app does not COPY --from=build /out/modelgate /out/modelgate-sidecar into %s/", path.Dir(pluginServerBin))
	}

	uid := d.metaArgs["KONG_UID"]
	if uid == "" || uid == "0" {
		t.Fatalf("ARG KONG_UID=%q: want Kong's non-root uid", uid)
	}
	for _, target := range []string{"kong", "sidecar"} {
		u := last[*instructions.UserCommand](t, d, target)
		if got := expand(t, u.User, map[string]string{"KONG_UID": uid}); got != uid+":"+uid {
			t.Errorf("stage %s runs as %q, want %s:%s (Kong's user)", target, got, uid, uid)
		}
	}
	if !strings.Contains(runScript(d.stage(t, "app")), "install -d -o kong -g kong -m 0750 "+socketDir) {
		t.Errorf("stage app does not create %s owned by kong, writable by it alone", socketDir)
	}

	// The sidecar image: its entrypoint, its default command and its health check.
	ep := last[*instructions.EntrypointCommand](t, d, "sidecar")
	if ep.PrependShell || !slices.Equal(ep.CmdLine, []string{sidecarBin}) {
		t.Errorf("stage sidecar: ENTRYPOINT %q, want [%q]", ep.CmdLine, sidecarBin)
	}
	cmd := last[*instructions.CmdCommand](t, d, "sidecar")
	checkSidecarServe(t, "Dockerfile sidecar CMD", cmd.CmdLine, productionMaxMessageBytes(t))
	hc := last[*instructions.HealthCheckCommand](t, d, "sidecar")
	if len(hc.Health.Test) < 2 || hc.Health.Test[0] != "CMD" {
		t.Fatalf("stage sidecar: HEALTHCHECK %q is not exec form", hc.Health.Test)
	}
	checkProbe(t, "Dockerfile sidecar HEALTHCHECK", hc.Health.Test[1:], false) // liveness, as compose
	if sig := last[*instructions.StopSignalCommand](t, d, "sidecar"); sig.Signal != "SIGTERM" {
		t.Errorf("stage sidecar: STOPSIGNAL %s, want SIGTERM", sig.Signal)
	}
}

// TestDockerfileRunScriptsParse has sh check the syntax of every shell-form
// RUN, the scripts a build would only reach minutes in.
func TestDockerfileRunScriptsParse(t *testing.T) {
	for _, s := range parseDockerfile(t).stages {
		for _, c := range s.Commands {
			r, ok := c.(*instructions.RunCommand)
			if !ok || !r.PrependShell {
				continue
			}
			script := strings.Join(r.CmdLine, " ")
			if out, err := exec.Command("sh", "-n", "-c", script).CombinedOutput(); err != nil {
				t.Errorf("stage %s: RUN %q: %v\n%s", s.Name, script, err, out)
			}
		}
	}
}

func runScript(s instructions.Stage) string {
	var b strings.Builder
	for _, c := range s.Commands {
		if r, ok := c.(*instructions.RunCommand); ok {
			fmt.Fprintln(&b, strings.Join(r.CmdLine, " "))
		}
	}
	return b.String()
}

// TestDockerfileORTPins checks that the image fetches ONNX Runtime with the
// same script and pins as `make ort`, and the GPU packages of GPU.md.
func TestDockerfileORTPins(t *testing.T) {
	d := parseDockerfile(t)
	ortVersion := makeVar(t, "ORT_VERSION")
	wantPackage := strings.ReplaceAll(makeVar(t, "ORT_PACKAGE"), "$(ORT_VERSION)", ortVersion)

	args := stageArgs(d.stage(t, "ort-cpu"))
	if args["ORT_PACKAGE"] != wantPackage {
		t.Errorf("ort-cpu: ORT_PACKAGE %q, Makefile has %q", args["ORT_PACKAGE"], wantPackage)
	}
	if args["ORT_INTEGRITY"] != makeVar(t, "ORT_INTEGRITY") {
		t.Errorf("ort-cpu: ORT_INTEGRITY differs from the Makefile's")
	}
	gpu := stageArgs(d.stage(t, "ort-gpu"))
	for k, v := range map[string]string{
		"ORT_GPU_CORE_PACKAGE": "com.github.asus4.onnxruntime@0.4.9",
		"ORT_GPU_CUDA_PACKAGE": "com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9",
	} {
		if gpu[k] != v {
			t.Errorf("ort-gpu: %s %q, want %q (../shared/GPU.md)", k, gpu[k], v)
		}
	}
	for _, k := range []string{"ORT_INTEGRITY", "ORT_GPU_CORE_INTEGRITY", "ORT_GPU_CUDA_INTEGRITY"} {
		v := args[k] + gpu[k]
		if !regexp.MustCompile(`^sha512-[A-Za-z0-9+/]{86}==$`).MatchString(v) {
			t.Errorf("%s %q is not a sha512 dist.integrity", k, v)
		}
	}
	for _, s := range []string{"ort-cpu", "ort-gpu"} {
		if !strings.Contains(runScript(d.stage(t, s)), "ort-fetch ") {
			t.Errorf("stage %s does not fetch with deploy/ort/fetch.sh", s)
		}
	}
	gpuEnv := d.env(t, "runtime-gpu")
	if !strings.Contains(gpuEnv["LD_LIBRARY_PATH"], "/usr/local/cuda/lib64") ||
		!strings.Contains(gpuEnv["LD_LIBRARY_PATH"], "/usr/local/lib/onnxruntime") {
		t.Errorf("runtime-gpu: LD_LIBRARY_PATH=%q lacks the CUDA or ONNX Runtime folder", gpuEnv["LD_LIBRARY_PATH"])
	}
	if got := d.env(t, "kong")["ORT_LIB"]; got != "/usr/local/lib/onnxruntime/libonnxruntime.so.1" {
		t.Errorf("ORT_LIB=%q", got)
	}
}

// makeVar reads a variable's value from the Makefile (VAR := ..., VAR ?= ...).
func makeVar(t *testing.T, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `\s*[:?]?=\s*(.*)$`).FindStringSubmatch(string(repoFile(t, "Makefile")))
	if m == nil {
		t.Fatalf("Makefile: no %s", name)
	}
	return strings.TrimSpace(m[1])
}

// TestMakefileImageTargets checks that `make image` and `make image-gpu`
// build the Dockerfile's kong and sidecar targets.
func TestMakefileImageTargets(t *testing.T) {
	d := parseDockerfile(t)
	makefile := string(repoFile(t, "Makefile"))
	for _, target := range []string{"image", "image-gpu"} {
		m := regexp.MustCompile(`(?ms)^` + target + `:[^\n]*\n((?:\t[^\n]*\n)+)`).FindStringSubmatch(makefile)
		if m == nil {
			t.Errorf("Makefile: no %s target", target)
			continue
		}
		for _, stage := range []string{"kong", "sidecar"} {
			d.stage(t, stage)
			if !strings.Contains(m[1], "--target "+stage) {
				t.Errorf("make %s does not build the %s target", target, stage)
			}
		}
		if gpu := strings.Contains(m[1], "VARIANT=gpu"); gpu != (target == "image-gpu") {
			t.Errorf("make %s: VARIANT=gpu is %v", target, gpu)
		}
	}
}

func stageArgs(s instructions.Stage) map[string]string {
	args := map[string]string{}
	for _, c := range s.Commands {
		if a, ok := c.(*instructions.ArgCommand); ok {
			for _, kv := range a.Args {
				if kv.Value != nil {
					args[kv.Key] = *kv.Value
				}
			}
		}
	}
	return args
}
