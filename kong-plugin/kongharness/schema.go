package kongharness

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
)

// Field is one node of a Kong schema as go-pdk writes it: a type
// ("string", "integer", "number", "boolean", "array", "map", "record"),
// the array's elements, the map's keys and values, the record's fields
// (each a one-entry map from field name to its Field), and go-pdk's
// "between" bounds for unsigned ints.
type Field struct {
	Name     string             `json:"name,omitempty"`
	Type     string             `json:"type"`
	Elements *Field             `json:"elements,omitempty"`
	Keys     *Field             `json:"keys,omitempty"`
	Values   *Field             `json:"values,omitempty"`
	Fields   []map[string]Field `json:"fields,omitempty"`
	Between  []float64          `json:"between,omitempty"`
}

// CheckConfig validates a plugin config (any JSON-encodable value, e.g.
// decoded from kong.yml) against a record schema the way Kong's schema
// validation does: unknown fields, wrong types and non-integral integers
// are errors; null and absent fields are allowed (go-pdk marks none
// required). Every problem is reported at once, each with its path.
func CheckConfig(schema Field, config any) error {
	b, err := json.Marshal(config)
	if err != nil {
		return fmt.Errorf("encoding the config: %w", err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var errs []error
	check(schema, v, "config", &errs)
	return errors.Join(errs...)
}

func check(f Field, v any, path string, errs *[]error) {
	if v == nil {
		return
	}
	bad := func(format string, args ...any) {
		*errs = append(*errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	switch f.Type {
	case "string":
		if _, ok := v.(string); !ok {
			bad("expected a string")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("expected a boolean")
		}
	case "number":
		if _, ok := v.(float64); !ok {
			bad("expected a number")
		}
	case "integer":
		n, ok := v.(float64)
		if !ok || n != math.Trunc(n) {
			bad("expected an integer")
			return
		}
		if len(f.Between) == 2 && (n < f.Between[0] || n > f.Between[1]) {
			bad("value should be between %v and %v", f.Between[0], f.Between[1])
		}
	case "array", "set":
		a, ok := v.([]any)
		if !ok {
			bad("expected an array")
			return
		}
		if f.Elements != nil {
			for i, e := range a {
				check(*f.Elements, e, fmt.Sprintf("%s[%d]", path, i), errs)
			}
		}
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			bad("expected a map")
			return
		}
		for _, k := range sortedKeys(m) {
			if f.Values != nil {
				check(*f.Values, m[k], path+"."+k, errs)
			}
		}
	case "record":
		m, ok := v.(map[string]any)
		if !ok {
			bad("expected a record")
			return
		}
		known := map[string]Field{}
		for _, entry := range f.Fields {
			for name, sub := range entry {
				known[name] = sub
			}
		}
		for _, k := range sortedKeys(m) {
			sub, ok := known[k]
			if !ok {
				*errs = append(*errs, fmt.Errorf("%s.%s: unknown field", path, k))
				continue
			}
			check(sub, m[k], path+"."+k, errs)
		}
	default:
		bad("schema type %q is not one go-pdk writes", f.Type)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
