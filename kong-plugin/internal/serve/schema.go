package serve

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// checkSchema compares a YAML node with the Go type the plugin config
// decodes into, field by field through the json tags (the names go-pdk gives
// Kong's schema), and reports every unknown key and mistyped value with its
// line. JSON decoding would stop at the first problem and know no lines.
func checkSchema(p *problems, node *yaml.Node, t reflect.Type, path string) {
	node = resolveAlias(node)
	if node == nil || isNull(node) {
		return // Kong treats null as "not set": the default applies
	}
	switch t.Kind() {
	case reflect.Struct:
		byName := jsonFields(t)
		names := make([]string, 0, len(byName))
		for name := range byName {
			names = append(names, name)
		}
		sort.Strings(names)
		for name, e := range fields(p, node, path, names...) {
			checkSchema(p, e.value, byName[name], join(path, name))
		}
	case reflect.Slice:
		for i, item := range sequence(p, node, path) {
			checkSchema(p, item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		if node.Kind != yaml.MappingNode {
			p.at(node, path, "expected a mapping, got %s", kindName(node))
			return
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(node.Content); i += 2 {
			k := node.Content[i]
			if seen[k.Value] {
				p.at(k, join(path, k.Value), "duplicate key")
			}
			seen[k.Value] = true
			checkSchema(p, node.Content[i+1], t.Elem(), join(path, k.Value))
		}
	case reflect.String:
		if node.Kind != yaml.ScalarNode || node.Tag != "!!str" {
			hint := ""
			if node.Kind == yaml.ScalarNode {
				hint = fmt.Sprintf(" (quote it: %q)", node.Value)
			}
			p.at(node, path, "expected a string, got %s%s", kindName(node), hint)
		}
	case reflect.Bool:
		if node.Kind != yaml.ScalarNode || node.Tag != "!!bool" {
			p.at(node, path, "expected true or false, got %s", kindName(node))
		}
	case reflect.Int, reflect.Int32, reflect.Int16, reflect.Int8:
		var v int64
		if node.Kind != yaml.ScalarNode || node.Tag != "!!int" || node.Decode(&v) != nil {
			p.at(node, path, "expected an integer, got %s", kindName(node))
		}
	case reflect.Float64, reflect.Float32:
		if node.Kind != yaml.ScalarNode || (node.Tag != "!!int" && node.Tag != "!!float") {
			p.at(node, path, "expected a number, got %s", kindName(node))
		}
	default:
		p.at(node, path, "modelgate serve cannot check a field of Go type %s", t)
	}
}

// jsonFields maps the json names of a struct's fields to their types,
// following embedded structs as encoding/json does.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if tag, ok := f.Tag.Lookup("json"); ok {
			if tag == "-" {
				continue
			}
			if n, _, _ := strings.Cut(tag, ","); n != "" {
				name = n
			}
		} else if f.Anonymous && f.Type.Kind() == reflect.Struct {
			for n, ft := range jsonFields(f.Type) {
				out[n] = ft
			}
			continue
		}
		out[name] = f.Type
	}
	return out
}
