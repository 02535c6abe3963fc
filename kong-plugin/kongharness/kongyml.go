package kongharness

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// PluginConfigs returns the `config` of every plugin named name in a Kong
// declarative file, wherever Kong allows plugins: at the top level and
// under services, routes (also nested in services) and consumers. Each
// comes with its place in the file, e.g. "services[0].routes[1].plugins[0]".
func PluginConfigs(kongYML []byte, name string) (map[string]any, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(kongYML, &doc); err != nil {
		return nil, fmt.Errorf("kong.yml: %w", err)
	}
	out := map[string]any{}
	collect(doc, "", name, out)
	return out, nil
}

func collect(node map[string]any, place, name string, out map[string]any) {
	if plugins, ok := node["plugins"].([]any); ok {
		for i, p := range plugins {
			pm, ok := p.(map[string]any)
			if ok && pm["name"] == name {
				cfg := pm["config"]
				if cfg == nil {
					cfg = map[string]any{}
				}
				out[fmt.Sprintf("%splugins[%d]", place, i)] = cfg
			}
		}
	}
	for _, key := range []string{"services", "routes", "consumers"} {
		list, ok := node[key].([]any)
		if !ok {
			continue
		}
		for i, e := range list {
			if em, ok := e.(map[string]any); ok {
				collect(em, fmt.Sprintf("%s%s[%d].", place, key, i), name, out)
			}
		}
	}
}
