package serve

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// entry is one key and its value in a YAML mapping.
type entry struct {
	key, value *yaml.Node
}

// fields checks that node is a mapping whose keys are all in known, reports
// every other key and every duplicate, and returns the values by key.
func fields(p *problems, node *yaml.Node, path string, known ...string) map[string]entry {
	out := map[string]entry{}
	node = resolveAlias(node)
	if node == nil || isNull(node) {
		return out
	}
	if node.Kind != yaml.MappingNode {
		p.at(node, path, "expected a mapping, got %s", kindName(node))
		return out
	}
	allowed := map[string]bool{}
	for _, k := range known {
		allowed[k] = true
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], resolveAlias(node.Content[i+1])
		name := k.Value
		if _, dup := out[name]; dup {
			p.at(k, join(path, name), "duplicate key")
			continue
		}
		if !allowed[name] {
			p.at(k, join(path, name), "unknown field (known here: %s)", strings.Join(known, ", "))
			continue
		}
		out[name] = entry{key: k, value: v}
	}
	return out
}

// sequence returns a sequence's items (none for null), reporting anything else.
func sequence(p *problems, node *yaml.Node, path string) []*yaml.Node {
	node = resolveAlias(node)
	if node == nil || isNull(node) {
		return nil
	}
	if node.Kind != yaml.SequenceNode {
		p.at(node, path, "expected a list, got %s", kindName(node))
		return nil
	}
	items := make([]*yaml.Node, len(node.Content))
	for i, n := range node.Content {
		items[i] = resolveAlias(n)
	}
	return items
}

// str reads a string scalar ("" for null).
func str(p *problems, node *yaml.Node, path string) string {
	if node == nil || isNull(node) {
		return ""
	}
	if node.Kind != yaml.ScalarNode || node.Tag != "!!str" {
		p.at(node, path, "expected a string, got %s", kindName(node))
		return ""
	}
	return node.Value
}

// strs reads a list of strings.
func strs(p *problems, node *yaml.Node, path string) []string {
	var out []string
	for i, item := range sequence(p, node, path) {
		out = append(out, str(p, item, fmt.Sprintf("%s[%d]", path, i)))
	}
	return out
}

// boolean reads a boolean scalar (def for null).
func boolean(p *problems, node *yaml.Node, path string, def bool) bool {
	if node == nil || isNull(node) {
		return def
	}
	if node.Kind != yaml.ScalarNode || node.Tag != "!!bool" {
		p.at(node, path, "expected true or false, got %s", kindName(node))
		return def
	}
	v, _ := strconv.ParseBool(strings.ToLower(node.Value))
	return v
}

// integer reads an integer scalar (def for null).
func integer(p *problems, node *yaml.Node, path string, def int) int {
	if node == nil || isNull(node) {
		return def
	}
	var v int
	if node.Kind != yaml.ScalarNode || node.Tag != "!!int" || node.Decode(&v) != nil {
		p.at(node, path, "expected an integer, got %s", kindName(node))
		return def
	}
	return v
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// kindName describes a node the way an error message needs it.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		case "!!null":
			return "null"
		default:
			return fmt.Sprintf("%s %s", strings.TrimPrefix(n.Tag, "!!"), n.Value)
		}
	}
	return "something else"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// find walks a dotted path with [i] indexes ("auth.jwt[0].public_key") from
// node and returns the deepest node it reaches, so an error found in the
// decoded config can be pointed at its line.
func find(node *yaml.Node, path string) *yaml.Node {
	cur := resolveAlias(node)
	for _, part := range splitPath(path) {
		next := (*yaml.Node)(nil)
		if idx, err := strconv.Atoi(part); err == nil && cur.Kind == yaml.SequenceNode {
			if idx >= 0 && idx < len(cur.Content) {
				next = cur.Content[idx]
			}
		} else if cur.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(cur.Content); i += 2 {
				if cur.Content[i].Value == part {
					next = cur.Content[i+1]
					if isNull(next) {
						next = cur.Content[i]
					}
					break
				}
			}
		}
		if next == nil {
			return cur
		}
		cur = resolveAlias(next)
	}
	return cur
}

// splitPath turns "a.b[0].c" into ["a", "b", "0", "c"].
func splitPath(path string) []string {
	var parts []string
	for _, dotted := range strings.Split(path, ".") {
		for dotted != "" {
			open := strings.IndexByte(dotted, '[')
			if open < 0 {
				parts = append(parts, dotted)
				break
			}
			if open > 0 {
				parts = append(parts, dotted[:open])
			}
			end := strings.IndexByte(dotted[open:], ']')
			if end < 0 {
				parts = append(parts, dotted[open:])
				break
			}
			parts = append(parts, dotted[open+1:open+end])
			dotted = dotted[open+end+1:]
		}
	}
	return parts
}
