package kongschema

import (
	"reflect"
	"strings"
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

// Of returns the schema go-pdk v0.11.2 gives Kong for a plugin config: the
// record `modelgate -dump` prints as the `config` field. It follows
// getSchemaDict in go-pdk's server/rpc.go, gaps included: int8, int16,
// int64, uint64, arrays, interfaces and the like are left out of the schema
// (Kong then refuses them as unknown fields), a field's name is its whole
// json tag, or its Go name in lower case without one.
func Of(config any) Field {
	f, _ := of(reflect.TypeOf(config))
	return f
}

func of(t reflect.Type) (Field, bool) {
	switch t.Kind() {
	case reflect.String:
		return Field{Type: "string"}, true
	case reflect.Bool:
		return Field{Type: "boolean"}, true
	case reflect.Int, reflect.Int32:
		return Field{Type: "integer"}, true
	case reflect.Uint, reflect.Uint32:
		return Field{Type: "integer", Between: []float64{0, 2147483648}}, true
	case reflect.Float32, reflect.Float64:
		return Field{Type: "number"}, true
	case reflect.Pointer:
		return of(t.Elem())
	case reflect.Slice:
		elem, ok := of(t.Elem())
		if !ok {
			return Field{}, false
		}
		return Field{Type: "array", Elements: &elem}, true
	case reflect.Map:
		keys, kok := of(t.Key())
		values, vok := of(t.Elem())
		if !kok || !vok {
			return Field{}, false
		}
		return Field{Type: "map", Keys: &keys, Values: &values}, true
	case reflect.Struct:
		rec := Field{Type: "record", Fields: []map[string]Field{}}
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if sf.PkgPath != "" {
				continue
			}
			f, ok := of(sf.Type)
			if !ok {
				continue
			}
			name := sf.Tag.Get("json")
			if name == "" {
				name = strings.ToLower(sf.Name)
			}
			rec.Fields = append(rec.Fields, map[string]Field{name: f})
		}
		return rec, true
	}
	return Field{}, false
}

// field returns the record's field called name.
func (f Field) field(name string) (Field, bool) {
	for _, entry := range f.Fields {
		if sub, ok := entry[name]; ok {
			return sub, true
		}
	}
	return Field{}, false
}
