package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/core"
	"github.com/modelgate/modelgate/kong-plugin/internal/trust"
)

// plugin is a modelgate plugin entry whose config decoded and validated.
type plugin struct {
	entry   *pluginEntry
	cfg     *config.Config
	gateway *core.Gateway // set by provision
}

// load reads path and checks everything modelgate serve can check before
// starting anything: the file's shape, each modelgate plugin config (strictly,
// against the gateway's config struct), its env: and file: references, the
// sidecar command and its model repository. Every problem is reported at once.
func load(path string) (*kongFile, []plugin, error) {
	p := &problems{file: path}
	f, _ := readKongFile(p, path)
	if f == nil {
		return nil, nil, p.err()
	}
	if len(f.plugins) == 0 {
		p.at(nil, "plugins", "no enabled %s plugin: modelgate serve would have nothing to answer with", pluginName)
	}
	policy := configPolicy(path)
	var plugins []plugin
	for _, e := range f.plugins {
		if cfg := decodePlugin(p, e, policy); cfg != nil {
			checkKongConsumers(p, f, e, cfg)
			plugins = append(plugins, plugin{entry: e, cfg: cfg})
		}
	}
	return f, plugins, p.err()
}

// checkKongConsumers: with kong_consumer on, the Kong adapter loads each
// authenticated consumer by username, so every configured consumer needs a
// Kong consumer in the file, as Kong would need one in its database.
func checkKongConsumers(p *problems, f *kongFile, e *pluginEntry, cfg *config.Config) {
	if !cfg.Auth.KongConsumer {
		return
	}
	known := map[string]bool{}
	for _, name := range f.consumers {
		known[name] = true
	}
	for i, c := range cfg.Auth.Consumers {
		if !known[c.Name] {
			place := fmt.Sprintf("auth.consumers[%d].name", i)
			p.at(find(e.node, place), join(e.path, place), "kong_consumer is on, but no Kong consumer has the username %q (add it under consumers:)", c.Name)
		}
	}
}

// configPolicy is what the operator allows a config read from path: the
// environment's policy, with kong.yml's own folder allowed.
func configPolicy(path string) trust.Policy {
	return trust.FromEnv().WithConfigFolder(filepath.Dir(path))
}

// decodePlugin checks one plugin config and decodes it with the gateway's own
// loader (config.LoadWith, as the Kong adapter validates, under policy).
func decodePlugin(p *problems, e *pluginEntry, policy trust.Policy) *config.Config {
	before := len(p.list)
	checkSchema(p, e.node, reflect.TypeOf(config.Config{}), e.path)
	schemaOK := len(p.list) == before
	checkReferences(p, e.node, e.path, policy)
	checkSidecar(p, e)
	if !schemaOK {
		return nil // the loader would stop at the first of the same problems, without lines
	}
	var value any
	if err := e.node.Decode(&value); err != nil {
		p.at(e.node, e.path, "%v", err)
		return nil
	}
	data, err := json.Marshal(value)
	if err != nil {
		p.at(e.node, e.path, "%v", err)
		return nil
	}
	cfg, err := config.LoadWith(data, policy)
	if err != nil {
		placeErrors(p, e.node, e.path, err)
		return nil
	}
	if len(p.list) > before {
		return nil
	}
	return &cfg
}

// configPlace is how the config package starts a message: the place in the
// plugin config it is about, then ": ".
var configPlace = regexp.MustCompile(`^([a-z_]+(?:\[\d+\])?(?:\.[A-Za-z0-9_.-]+?(?:\[\d+\])?)*): `)

// placeErrors turns the loader's joined errors into problems with lines: each
// message names its place in the config ("auth.jwt[0].leeway: ..."), which
// leads to its node.
func placeErrors(p *problems, node *yaml.Node, path string, err error) {
	for _, leaf := range leaves(err) {
		msg := strings.TrimPrefix(leaf.Error(), "plugin config: ")
		if m := configPlace.FindStringSubmatch(msg); m != nil {
			p.at(find(node, m[1]), join(path, m[1]), "%s", msg[len(m[0]):])
			continue
		}
		p.at(node, path, "%s", msg)
	}
}

// leaves flattens errors.Join trees.
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	var out []error
	for _, line := range strings.Split(err.Error(), "\n") {
		if line != "" {
			out = append(out, errors.New(line))
		}
	}
	return out
}

// checkReferences resolves every env: and file: reference in a plugin config
// now, so that a missing variable or an unreadable key file stops the start
// with its line instead of failing the first request that needs it. A file
// outside the operator's folders is not opened: the loader refuses it.
func checkReferences(p *problems, node *yaml.Node, path string, policy trust.Policy) {
	node = resolveAlias(node)
	switch node.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			checkReferences(p, node.Content[i+1], join(path, node.Content[i].Value), policy)
		}
	case yaml.SequenceNode:
		for i, item := range node.Content {
			checkReferences(p, item, fmt.Sprintf("%s[%d]", path, i), policy)
		}
	case yaml.ScalarNode:
		if node.Tag != "!!str" {
			return
		}
		if name, ok := strings.CutPrefix(node.Value, "env:"); ok {
			if v, set := os.LookupEnv(name); !set || v == "" {
				p.at(node, path, "environment variable %s is not set", name)
			}
		} else if file, ok := strings.CutPrefix(node.Value, "file:"); ok && policy.CheckSecretFile(file) == nil {
			if f, err := os.Open(file); err != nil {
				p.at(node, path, "cannot read %s: %v", file, errors.Unwrap(err))
			} else {
				info, err := f.Stat()
				if err == nil && info.IsDir() {
					p.at(node, path, "%s is a directory, not a file", file)
				}
				f.Close()
			}
		}
	}
}

// checkSidecar checks what launch mode needs before it starts anything: the
// sidecar binary and the model repository named by --models. It reads the
// YAML itself, so that it reports even when other parts of the config are wrong.
func checkSidecar(p *problems, e *pluginEntry) {
	mode := find(e.node, "sidecar.mode")
	if mode.Kind != yaml.ScalarNode || mode.Value != "launch" {
		return
	}
	at := e.path + ".sidecar"
	command := find(e.node, "sidecar.command")
	if command.Kind == yaml.ScalarNode && command.Tag == "!!str" {
		// A command the operator does not allow is config.Load's problem;
		// an allowed one must exist.
		if path, err := trust.FromEnv().SidecarCommand(command.Value); err == nil {
			if _, err := exec.LookPath(path); err != nil {
				p.at(command, at+".command", "cannot run %q (%s): %v (make build puts it in bin/, next to modelgate)", command.Value, path, errors.Unwrap(err))
			}
		}
	}
	argsNode := find(e.node, "sidecar.args")
	if argsNode.Kind != yaml.SequenceNode {
		p.at(argsNode, at+".args", "no --models DIR: the sidecar needs a model repository")
		return
	}
	var args []string
	for _, a := range argsNode.Content {
		args = append(args, a.Value)
	}
	dir, i := config.ModelsArg(args)
	if dir == "" {
		p.at(argsNode, at+".args", "no --models DIR: the sidecar needs a model repository")
		return
	}
	node := argsNode.Content[i]
	info, err := os.Stat(dir)
	switch {
	case err != nil:
		p.at(node, fmt.Sprintf("%s.args[%d]", at, i), "model repository %s: %v", dir, errors.Unwrap(err))
	case !info.IsDir():
		p.at(node, fmt.Sprintf("%s.args[%d]", at, i), "model repository %s is not a directory", dir)
	default:
		entries, err := os.ReadDir(dir)
		models := 0
		for _, de := range entries {
			if de.IsDir() && !strings.HasPrefix(de.Name(), ".") {
				models++
			}
		}
		// With --registry the sidecar pulls the models into the folder.
		if err != nil || (models == 0 && !pullsFromRegistry(args)) {
			p.at(node, fmt.Sprintf("%s.args[%d]", at, i), "model repository %s holds no model folders", dir)
		}
	}
}

// pullsFromRegistry reports whether the sidecar's flags name a registry to
// pull the models from.
func pullsFromRegistry(args []string) bool {
	for _, a := range args {
		for _, flag := range []string{"--registry", "-registry"} {
			if a == flag || strings.HasPrefix(a, flag+"=") {
				return true
			}
		}
	}
	return false
}
