package serve

import (
	"encoding/json"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/kongschema"
)

// CheckKong checks the declarative file at path the way Kong 3.9.3 and the
// plugin would load it, before a deploy: every modelgate plugin config
// against schema (the one go-pdk gives Kong, kongschema.Of of the plugin's
// config type) with Kong's schema rules, then, where Kong would accept it,
// with the plugin's own loader (config.Load, as at start_instance). It
// returns the number of modelgate plugin configs checked, and a
// *ConfigError listing every problem with its line, as `modelgate serve`
// reports them. It checks nothing of the host (env: variables, key files,
// the sidecar binary): those belong to the machine Kong runs on, and
// Kong's other entities and plugins are Kong's to check.
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
	refused := map[string]bool{}
	for _, pr := range found {
		p.list = append(p.list, problem{line: pr.Line, column: pr.Column, path: pr.Path, message: pr.Message})
		refused[pluginOf(plugins, pr.Path)] = true
	}
	for _, pl := range plugins {
		if refused[pl.Path] {
			continue // the loader would stop at the first of the same problems, without lines
		}
		checkWithLoader(p, pl)
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

// checkWithLoader loads a config Kong accepts with the plugin's own loader.
// A missing config is what Kong sends for it: every field empty.
func checkWithLoader(p *problems, pl kongschema.Plugin) {
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
	if _, err := config.Load(data); err != nil {
		placeErrors(p, node, at, err)
	}
}
