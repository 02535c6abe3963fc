package kongharness

import "encoding/json"

// WithKongNulls returns config as Kong hands it to a plugin server after
// its schema processing (kong/db/schema/init.lua's process_auto_fields and
// handle_missing_field, with kong/db/schema/entity.lua making records
// required): every field the schema knows but the config left out is
// present, as null for scalars, arrays and maps, and as a record of such
// nulls for the records Kong requires (those reached from config through
// records alone; go-pdk's schema has no defaults). A record inside an array
// element or a map value is not required, so there a missing record is
// null. A plugin must decode this as it decodes the sparse config.
func WithKongNulls(schema Field, config any) (map[string]any, error) {
	b, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	fillRecord(schema, m, true)
	return m, nil
}

// fillRecord fills m's missing fields. recordsRequired: m's record fields
// are required, so Kong fills a missing one instead of setting it null.
func fillRecord(schema Field, m map[string]any, recordsRequired bool) {
	for _, entry := range schema.Fields {
		for name, f := range entry {
			v, present := m[name]
			switch {
			case !present && f.Type == "record" && recordsRequired:
				sub := map[string]any{}
				fillRecord(f, sub, true)
				m[name] = sub
			case !present:
				m[name] = nil
			default:
				fillValue(f, v, recordsRequired)
			}
		}
	}
}

func fillValue(f Field, v any, recordsRequired bool) {
	switch f.Type {
	case "record":
		if sub, ok := v.(map[string]any); ok {
			fillRecord(f, sub, recordsRequired)
		}
	case "array", "set":
		if list, ok := v.([]any); ok && f.Elements != nil {
			for _, e := range list {
				fillValue(*f.Elements, e, false)
			}
		}
	case "map":
		if m, ok := v.(map[string]any); ok && f.Values != nil {
			for _, e := range m {
				fillValue(*f.Values, e, false)
			}
		}
	}
}
