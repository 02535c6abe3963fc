package deploy

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"gopkg.in/yaml.v3"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// kongConfigs are the Kong declarative configs a deployment runs: the root
// one (the image's default, launch mode) and the production one.
var kongConfigs = []string{"kong.yml", "deploy/kong/kong.yml"}

// productionMaxMessageBytes is deploy/kong/kong.yml's sidecar.max_message_bytes,
// which every attached sidecar's --max-message-bytes must equal.
func productionMaxMessageBytes(t *testing.T) int {
	t.Helper()
	cfg := modelgatePlugins(t, "deploy/kong/kong.yml", repoFile(t, "deploy/kong/kong.yml"))[0]
	n, _ := dig(cfg, "sidecar", "max_message_bytes").(int)
	if n <= 0 {
		t.Fatal("deploy/kong/kong.yml: sidecar.max_message_bytes is not set")
	}
	return n
}

// TestKongYmlMatchesPluginSchema validates every modelgate plugin config of
// every kong.yml in the repository (and the ConfigMap's copy) against the
// schema the built plugin server gives Kong (`modelgate -dump`, Kong's
// query_cmd), with Kong's schema rules (kongharness.CheckConfig): Kong
// refuses a declarative config with a field the schema lacks, a value of
// the wrong type or an empty string, so this is Kong's own check.
func TestKongYmlMatchesPluginSchema(t *testing.T) {
	d, err := kongharness.Dump(context.Background(), testutil.Binary(t, "modelgate"))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Plugins) != 1 {
		t.Fatalf("modelgate -dump: want one plugin, got %d", len(d.Plugins))
	}
	if d.Plugins[0].Name != pluginName {
		t.Errorf("modelgate -dump names the plugin %q, want %q", d.Plugins[0].Name, pluginName)
	}
	if d.SocketPath != pluginServerSocket {
		t.Errorf("modelgate -dump: socket %q, want %q (KONG_PLUGINSERVER_MODELGATE_SOCKET)", d.SocketPath, pluginServerSocket)
	}
	schema, err := d.Plugins[0].ConfigSchema()
	if err != nil {
		t.Fatal(err)
	}
	files := append(repositoryKongYmls(t), "deploy/k8s/configmap.yaml#kong.yml")
	for _, f := range files {
		doc := kongYml(t, f)
		for _, cfg := range modelgatePlugins(t, f, doc) {
			if err := kongharness.CheckConfig(schema, cfg); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
	}
}

// kongYml reads a kong.yml, or the kong.yml inside a ConfigMap ("file#key").
func kongYml(t *testing.T, name string) []byte {
	t.Helper()
	file, key, inConfigMap := strings.Cut(name, "#")
	if !inConfigMap {
		return repoFile(t, file)
	}
	for _, obj := range decodeManifests(t, file) {
		if cm, ok := obj.(*configMap); ok {
			return []byte(cm.Data[key])
		}
	}
	t.Fatalf("%s: no ConfigMap", file)
	return nil
}

// secretRefs collects every string value that is an env: or file: reference.
func secretRefs(v any) []string {
	switch v := v.(type) {
	case string:
		if strings.HasPrefix(v, "env:") || strings.HasPrefix(v, "file:") {
			return []string{v}
		}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, secretRefs(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, k := range slices.Sorted(maps.Keys(v)) {
			out = append(out, secretRefs(v[k])...)
		}
		return out
	}
	return nil
}

// TestProductionKongYml checks the attach-mode config compose and
// Kubernetes run: the socket, Redis, the secrets and the metrics port.
func TestProductionKongYml(t *testing.T) {
	cfg := modelgatePlugins(t, "deploy/kong/kong.yml", repoFile(t, "deploy/kong/kong.yml"))[0]
	for path, want := range map[string]any{
		"sidecar.mode":      "attach",
		"sidecar.socket":    socketPath,
		"quotas.policy":     "redis",
		"quotas.redis.addr": redisService + ":" + strconv.Itoa(redisPort),
		"metrics.addr":      ":" + strconv.Itoa(pluginMetricsPort),
	} {
		if got := dig(cfg, strings.Split(path, ".")...); got != want {
			t.Errorf("deploy/kong/kong.yml: %s is %v, want %v", path, got, want)
		}
	}
	refs := secretRefs(cfg)
	if len(refs) == 0 {
		t.Error("deploy/kong/kong.yml: no secret references (JWT key, Redis password)")
	}
	for _, ref := range refs {
		// nginx clears its workers' environment, so env: would resolve to
		// nothing in the plugin server Kong starts.
		if !strings.HasPrefix(ref, "file:"+secretsDir+"/") {
			t.Errorf("deploy/kong/kong.yml: secret %q: want file:%s/... (a mounted secret)", ref, secretsDir)
		}
	}
}

// productionSecretFiles are the files under secretsDir deploy/kong/kong.yml reads.
func productionSecretFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, ref := range secretRefs(modelgatePlugins(t, "deploy/kong/kong.yml", repoFile(t, "deploy/kong/kong.yml"))[0]) {
		files = append(files, strings.TrimPrefix(ref, "file:"+secretsDir+"/"))
	}
	slices.Sort(files)
	return slices.Compact(files)
}

// TestRootKongYmlRunsInImage checks that the root kong.yml, the image's
// default config, finds what it names from the image's /opt/modelgate: the
// sidecar binary, the model repository and its key files.
func TestRootKongYmlRunsInImage(t *testing.T) {
	d := parseDockerfile(t)
	inImage := map[string]bool{"models": true, pluginServerBin: true, sidecarBin: true}
	for _, c := range d.stage(t, "app").Commands {
		if cp, ok := c.(*instructions.CopyCommand); ok && cp.From == "" {
			for _, src := range cp.SourcePaths {
				if strings.TrimSuffix(cp.DestPath, "/") == "/opt/modelgate/"+strings.TrimSuffix(src, "/") ||
					cp.DestPath == "/opt/modelgate/"+path.Dir(src)+"/" {
					inImage[path.Clean(src)] = true
				}
			}
		}
	}
	under := func(p string) bool {
		p = strings.TrimPrefix(path.Clean(p), "/opt/modelgate/")
		for q := p; q != "." && q != "/"; q = path.Dir(q) {
			if inImage[q] {
				return true
			}
		}
		return false
	}
	for _, cfg := range modelgatePlugins(t, "kong.yml", repoFile(t, "kong.yml")) {
		if dig(cfg, "sidecar", "mode") == "launch" {
			cmd, _ := dig(cfg, "sidecar", "command").(string)
			if !strings.Contains(cmd, "/") {
				// Looked up on PATH: the plugin server must get PATH, which
				// nginx would clear, and find the sidecar in /usr/local/bin.
				env := d.env(t, "kong")
				if cmd != path.Base(sidecarBin) || !slices.Contains(strings.Fields(strings.ReplaceAll(env["KONG_NGINX_MAIN_ENV"], ";", " ")), "PATH") {
					t.Errorf("kong.yml: sidecar.command %q is not found on the PATH Kong's workers keep (KONG_NGINX_MAIN_ENV=%q)", cmd, env["KONG_NGINX_MAIN_ENV"])
				}
			} else if !under(cmd) {
				t.Errorf("kong.yml: sidecar.command %q is not in the image", cmd)
			}
			args, _ := dig(cfg, "sidecar", "args").([]any)
			for i := 0; i+1 < len(args); i++ {
				if args[i] == "--models" || args[i] == "-models" {
					if dir, _ := args[i+1].(string); !under(dir) {
						t.Errorf("kong.yml: --models %q is not in the image", dir)
					}
				}
			}
		}
		for _, ref := range secretRefs(cfg) {
			if file, ok := strings.CutPrefix(ref, "file:"); ok && !under(file) {
				t.Errorf("kong.yml: secret %q is not in the image", ref)
			}
		}
	}
}

// repositoryKongYmls finds every Kong declarative file in the repository
// (named kong.yml or kong.yaml, or ending in .kong.yml), so a new one is
// checked without being listed.
func repositoryKongYmls(t *testing.T) []string {
	t.Helper()
	root := testutil.RepoRoot()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && p != root && (strings.HasPrefix(name, ".") || name == "bin" || name == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (name == "kong.yml" || name == "kong.yaml" || strings.HasSuffix(name, ".kong.yml")) {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range kongConfigs {
		if !slices.Contains(out, want) {
			t.Fatalf("the walk missed %s (found %v)", want, out)
		}
	}
	return out
}

// kongYmlKeys are the top-level keys of Kong's declarative format: a README
// snippet with one of them is (part of) a kong.yml, any other a part of the
// modelgate plugin config.
var kongYmlKeys = []string{"_format_version", "routes", "services", "plugins", "consumers"}

// TestREADMEYAMLSnippets checks every ```yaml block of README.md and
// deploy/README.md as Kong would load it: a kong.yml (or part of one) by
// its modelgate plugin configs and its routes, a part of the plugin config
// against the plugin's schema (a part leaves fields out, which Kong allows).
func TestREADMEYAMLSnippets(t *testing.T) {
	d, err := kongharness.Dump(context.Background(), testutil.Binary(t, "modelgate"))
	if err != nil {
		t.Fatal(err)
	}
	schema, err := d.Plugins[0].ConfigSchema()
	if err != nil {
		t.Fatal(err)
	}
	snippets := 0
	for _, doc := range []string{"README.md", "deploy/README.md"} {
		for _, s := range yamlBlocks(string(repoFile(t, doc))) {
			snippets++
			where := fmt.Sprintf("%s:%d", doc, s.line)
			var top map[string]any
			if err := yaml.Unmarshal([]byte(s.text), &top); err != nil {
				t.Errorf("%s: not YAML: %v", where, err)
				continue
			}
			if !slices.ContainsFunc(kongYmlKeys, func(k string) bool { _, ok := top[k]; return ok }) {
				if err := kongharness.CheckConfig(schema, top); err != nil {
					t.Errorf("%s: Kong would refuse this part of the plugin config:\n%v", where, err)
				}
				continue
			}
			configs, err := kongharness.PluginConfigs([]byte(s.text), pluginName)
			if err != nil {
				t.Fatal(err)
			}
			for place, cfg := range configs {
				if err := kongharness.CheckConfig(schema, cfg); err != nil {
					t.Errorf("%s: %s: Kong would refuse the plugin config:\n%v", where, place, err)
				}
			}
			if _, err := kongharness.Routes([]byte(s.text)); err != nil {
				t.Errorf("%s: %v", where, err)
			}
		}
	}
	if snippets == 0 {
		t.Fatal("no ```yaml block in README.md or deploy/README.md: the extraction is broken")
	}
}

// yamlBlock is a fenced ```yaml (or ```yml) block and the line its text starts on.
type yamlBlock struct {
	line int
	text string
}

func yamlBlocks(markdown string) []yamlBlock {
	var out []yamlBlock
	var cur *yamlBlock
	for i, line := range strings.Split(markdown, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && (trimmed == "```yaml" || trimmed == "```yml"):
			out = append(out, yamlBlock{line: i + 2})
			cur = &out[len(out)-1]
		case cur != nil && trimmed == "```":
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	return out
}
