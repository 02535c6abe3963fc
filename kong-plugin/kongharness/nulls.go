package kongharness

import "encoding/json"

// WithKongNulls returns config as Kong hands it to a plugin server after
// its schema processing: every field the schema knows but the config left
// out is present, as null for scalars, arrays and maps, and as a record of
// such nulls for records (Kong fills a record's fields from its defaults,
// and go-pdk's schema has none). A plugin must decode this as it decodes
// the sparse config.
func WithKongNulls(schema Field, config any) (map[string]any, error) {
	b, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	fillRecord(schema, m)
	return m, nil
}

func fillRecord(schema Field, m map[string]any) {
	for _, entry := range schema.Fields {
		for name, f := range entry {
			v, present := m[name]
			switch {
			case !present && f.Type == "record":
				sub := map[string]any{}
				fillRecord(f, sub)
				m[name] = sub
			case !present:
				m[name] = nil
			default:
				fillValue(f, v)
			}
		}
	}
}

func fillValue(f Field, v any) {
	switch f.Type {
	case "record":
		if sub, ok := v.(map[string]any); ok {
			fillRecord(f, sub)
		}
	case "array", "set":
		if list, ok := v.([]any); ok && f.Elements != nil {
			for _, e := range list {
				fillValue(*f.Elements, e)
			}
		}
	}
}
