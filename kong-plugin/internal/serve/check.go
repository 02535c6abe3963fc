package serve

import (
	"encoding/json"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/kongschema"
	"github.com/modelgate/modelgate/kong-plugin/internal/trust"
)

// CheckKong checks the declarative file at path the way Kong 3.9.3 and the
// plugin would load it, before a deploy: every modelgate plugin config
// against schema (the one go-pdk gives Kong, kongschema.Of of the plugin's
// config type) with Kong's schema rules, then, where Kong would accept it,
// with the plugin's own loader (config.Load, as at start_instance). It
// returns the number of modelgate plugin configs checked, and a
// *ConfigError listing every problem with its line, as `modelgate serve`
// reports them. Of the host it looks only at what the plugin would refuse
// at start whatever the machine: paths outside the folders the operator
// allows (this environment's MODELGATE_SECRET_DIRS, and the file's own
// folder) and the repository's DEMO credentials, in the key files it can
// read, unless MODELGATE_DEMO=1 here. env: variables, unreadable key files
// and the sidecar binary belong to the machine Kong runs on, and Kong's
// other entities and plugins are Kong's to check.
func CheckKong(path string, schema kongschema.Field) (int, error) {
	p := &problems{file: path}
	data, err := os.ReadFile(path)
	if err != nil {
		p.at(nil, "", "cannot read the file: %v", err)
		return 0, p.err()
	}
	plugins, found, err := kongschema.CheckFile(schema, data, pluginName)
	if err != nil {
		p.at(nil, "", "not YAML: %v", err)
		return 0, p.err()
	}
	if len(plugins) == 0 {
		p.at(nil, "plugins", "no %s plugin in the file", pluginName)
	}
	policy := trust.FromEnv().InFolderOf(path)
	demo := os.Getenv(config.DemoEnv) == "1"
	refused := map[string]bool{}
	for _, pr := range found {
		p.list = append(p.list, problem{line: pr.Line, column: pr.Column, path: pr.Path, message: pr.Message})
		refused[pluginOf(plugins, pr.Path)] = true
	}
	for _, pl := range plugins {
		if refused[pl.Path] {
			continue // the loader would stop at the first of the same problems, without lines
		}
		checkWithLoader(p, pl, policy, demo)
	}
	return len(plugins), p.err()
}

// pluginOf returns the path of the plugin entry a problem's path is in.
func pluginOf(plugins []kongschema.Plugin, path string) string {
	for _, pl := range plugins {
		if len(path) > len(pl.Path) && path[:len(pl.Path)+1] == pl.Path+"." {
			return pl.Path
		}
	}
	return ""
}

// checkWithLoader loads a config Kong accepts with the plugin's own loader
// under policy, then refuses the repository's DEMO credentials, as the
// plugin does at start, unless demo (MODELGATE_DEMO=1 where check runs).
// A missing config is what Kong sends for it: every field empty.
func checkWithLoader(p *problems, pl kongschema.Plugin, policy trust.Policy, demo bool) {
	at := pl.Path + ".config"
	node := pl.Config
	if node == nil {
		node = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: pl.Entry.Line, Column: pl.Entry.Column}
	}
	var value any
	if err := node.Decode(&value); err != nil {
		p.at(node, at, "%v", err)
		return
	}
	data, err := json.Marshal(value)
	if err != nil {
		p.at(node, at, "%v", err)
		return
	}
	cfg, err := config.LoadWith(data, policy)
	if err == nil {
		err = cfg.CheckDemoCredentials(demo, policy)
	}
	if err != nil {
		placeErrors(p, node, at, err)
	}
}
