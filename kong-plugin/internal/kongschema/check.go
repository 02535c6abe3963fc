package kongschema

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing Kong would refuse, at a place in the YAML file.
type Problem struct {
	Line, Column int    // 0 when the node has no place (a config built in memory)
	Path         string // e.g. plugins[0].config.metrics.addr
	Message      string // Kong's own message, e.g. "length must be at least 1"
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// Kong's messages (kong/db/schema/init.lua, validation_errors).
const (
	errArray    = "expected an array"
	errSet      = "expected a set"
	errMap      = "expected a map"
	errRecord   = "expected a record"
	errString   = "expected a string"
	errNumber   = "expected a number"
	errBoolean  = "expected a boolean"
	errInteger  = "expected an integer"
	errBetween  = "value should be between %d and %d"
	errLenMin   = "length must be at least 1"
	errRequired = "required field missing"
	errUnknown  = "unknown field"
)

// Check validates node, the `config` of one plugin entry in a declarative
// file, against the plugin's config record the way Kong 3.9.3 does when it
// loads the file, and returns every problem. path names the config's place
// in the file (e.g. "plugins[0].config"). A nil node is a missing config,
// which Kong fills from the schema and accepts.
//
// The rules, from kong/db/schema/init.lua (Schema:validate_field,
// validate_fields, handle_missing_field, adjust_field_for_context) and
// kong/db/schema/entity.lua (make_records_required):
//   - A plugin's config record, and every record reached from it through
//     record fields only, is required: missing, Kong fills it (its fields
//     null); an explicit null is "required field missing". Records inside
//     array elements or map values are not made required.
//   - Any other field may be missing or null.
//   - Array elements, map keys and map values are required: a null one is
//     refused.
//   - Strings: "" is refused ("empty strings are not accepted by default":
//     go-pdk's schema sets no len_min). Map keys are strings too.
//   - Integers: a number equal to its floor and finite (5.0 passes),
//     within go-pdk's between bounds for unsigned Go ints. Numbers: any
//     number. Booleans: true or false, never a string.
//   - Sets (which go-pdk never writes) check as arrays; Kong drops their
//     duplicates.
//   - Arrays and records: Kong's YAML reader gives both as Lua tables, so
//     an empty mapping passes as an empty array and an empty list as an
//     empty record or map.
//   - A record's unknown fields are refused, except updated_at, which
//     Schema.new always leaves unvalidated.
//
// Kong stops at the first bad entry of a map; Check reports them all.
func Check(schema Field, node *yaml.Node, path string) []Problem {
	c := checker{}
	if node != nil {
		c.value(schema, node, path, true, true)
	}
	return c.problems
}

type checker struct{ problems []Problem }

func (c *checker) add(node *yaml.Node, path, format string, args ...any) {
	p := Problem{Path: path, Message: fmt.Sprintf(format, args...)}
	if node != nil {
		p.Line, p.Column = node.Line, node.Column
	}
	c.problems = append(c.problems, p)
}

// value checks one value. required: null is refused. recordsRequired: the
// record fields of a record here are required (entity.lua's
// make_records_required reached it through records alone).
func (c *checker) value(f Field, node *yaml.Node, path string, required, recordsRequired bool) {
	node = resolveAlias(node)
	if isNull(node) {
		if required {
			c.add(node, path, errRequired)
		}
		return
	}
	switch f.Type {
	case "string":
		if !isString(node) {
			c.add(node, path, "%s, got %s", errString, describe(node))
		} else if node.Value == "" {
			c.add(node, path, errLenMin+`, got "" (Kong refuses empty strings)`)
		}
	case "boolean":
		if node.Kind != yaml.ScalarNode || node.Tag != "!!bool" {
			c.add(node, path, "%s, got %s", errBoolean, describe(node))
		}
	case "number":
		if _, ok := number(node); !ok {
			c.add(node, path, "%s, got %s", errNumber, describe(node))
		}
	case "integer":
		n, ok := number(node)
		if !ok || n != math.Floor(n) || math.IsInf(n, 0) {
			c.add(node, path, "%s, got %s", errInteger, describe(node))
			return
		}
		if len(f.Between) == 2 && (n < f.Between[0] || n > f.Between[1]) {
			c.add(node, path, errBetween, int64(f.Between[0]), int64(f.Between[1]))
		}
	case "array", "set":
		c.array(f, node, path)
	case "map":
		c.mapping(f, node, path)
	case "record":
		c.record(f, node, path, recordsRequired)
	default:
		c.add(node, path, "the schema's type %q is not one go-pdk writes", f.Type)
	}
}

func (c *checker) array(f Field, node *yaml.Node, path string) {
	switch {
	case node.Kind == yaml.SequenceNode:
		for i, item := range node.Content {
			if f.Elements != nil {
				c.value(*f.Elements, item, fmt.Sprintf("%s[%d]", path, i), true, false)
			}
		}
	case node.Kind == yaml.MappingNode && len(node.Content) == 0:
	case f.Type == "set":
		c.add(node, path, "%s, got %s", errSet, describe(node))
	default:
		c.add(node, path, "%s, got %s", errArray, describe(node))
	}
}

func (c *checker) mapping(f Field, node *yaml.Node, path string) {
	switch {
	case node.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := resolveAlias(node.Content[i]), node.Content[i+1]
			at := join(path, k.Value)
			if f.Keys != nil {
				c.value(*f.Keys, k, at+" (the key)", true, false)
			}
			if f.Values != nil {
				c.value(*f.Values, v, at, true, false)
			}
		}
	case node.Kind == yaml.SequenceNode && len(node.Content) == 0:
	case node.Kind == yaml.SequenceNode:
		// A list's keys are 1, 2, ...: numbers where the keys are strings.
		c.add(node, path, "%s (the keys of a list are numbers), got %s", errString, describe(node))
	default:
		c.add(node, path, "%s, got %s", errMap, describe(node))
	}
}

func (c *checker) record(f Field, node *yaml.Node, path string, recordsRequired bool) {
	switch {
	case node.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := resolveAlias(node.Content[i]), node.Content[i+1]
			at := join(path, k.Value)
			sub, known := f.field(k.Value)
			switch {
			case k.Value == "updated_at":
			case !known:
				c.add(k, at, errUnknown)
			default:
				c.value(sub, v, at, recordsRequired && sub.Type == "record", recordsRequired)
			}
		}
	case node.Kind == yaml.SequenceNode:
		// A list's keys are 1, 2, ...: no record has such fields.
		for i, item := range node.Content {
			c.add(item, fmt.Sprintf("%s[%d]", path, i), errUnknown)
		}
	default:
		c.add(node, path, "%s, got %s", errRecord, describe(node))
	}
}

// number reads a YAML number as Lua would hold it (a double).
func number(node *yaml.Node) (float64, bool) {
	if node.Kind != yaml.ScalarNode || (node.Tag != "!!int" && node.Tag != "!!float") {
		return 0, false
	}
	var n float64
	if err := node.Decode(&n); err != nil {
		return 0, false
	}
	return n, true
}

func isString(node *yaml.Node) bool {
	return node.Kind == yaml.ScalarNode && node.Tag == "!!str"
}

func isNull(node *yaml.Node) bool {
	return node.Kind == yaml.ScalarNode && node.Tag == "!!null"
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// describe names a node for a message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!str" {
			return strconv.Quote(n.Value)
		}
		return strings.TrimPrefix(n.Tag, "!!") + " " + n.Value
	}
	return "something else"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
