package kongschema

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Plugin is one entry of a plugin in a declarative file.
type Plugin struct {
	Path   string     // its place, e.g. "services[0].routes[1].plugins[0]"
	Entry  *yaml.Node // the plugin's mapping
	Config *yaml.Node // its `config` value; nil when the entry has none
}

// Plugins returns every entry of the plugin called name in a parsed
// declarative file (the document's root mapping), wherever Kong's
// declarative format nests plugins: at the top, under services, routes
// (also nested in services) and consumers (kong/db/schema/others/
// declarative_config.lua), in file order.
func Plugins(root *yaml.Node, name string) []Plugin {
	var out []Plugin
	collect(resolveAlias(root), "", name, &out)
	return out
}

func collect(node *yaml.Node, place, name string, out *[]Plugin) {
	if node == nil || node.Kind != yaml.MappingNode {
		return
	}
	if plugins := value(node, "plugins"); plugins != nil && plugins.Kind == yaml.SequenceNode {
		for i, p := range plugins.Content {
			p = resolveAlias(p)
			if n := value(p, "name"); n != nil && n.Value == name && isString(n) {
				*out = append(*out, Plugin{Path: fmt.Sprintf("%splugins[%d]", place, i), Entry: p, Config: value(p, "config")})
			}
		}
	}
	for _, key := range []string{"services", "routes", "consumers"} {
		list := value(node, key)
		if list == nil || list.Kind != yaml.SequenceNode {
			continue
		}
		for i, e := range list.Content {
			collect(resolveAlias(e), fmt.Sprintf("%s%s[%d].", place, key, i), name, out)
		}
	}
}

// value returns the value of key in a mapping (nil if absent).
func value(node *yaml.Node, key string) *yaml.Node {
	if node == nil || node.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		if node.Content[i].Value == key {
			return resolveAlias(node.Content[i+1])
		}
	}
	return nil
}

// CheckFile parses a declarative file (YAML or JSON) and checks the config
// of every entry of the plugin called name against schema, as Kong would
// when it loads the file. The error is for a file that is not YAML at all.
func CheckFile(schema Field, data []byte, name string) ([]Plugin, []Problem, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil, fmt.Errorf("the file is empty")
	}
	plugins := Plugins(doc.Content[0], name)
	var problems []Problem
	for _, p := range plugins {
		problems = append(problems, Check(schema, p.Config, p.Path+".config")...)
	}
	return plugins, problems, nil
}
