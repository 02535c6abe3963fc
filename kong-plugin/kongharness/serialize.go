package kongharness

import "fmt"

// setSerializeValue applies kong.log.set_serialize_value(key, value) in its
// default mode "set" to root, as Kong 3.9.3 does when it serializes
// (edit_result in kong/pdk/log.lua): a dot in the key after its first byte
// separates a path of tables, created where missing; a path through a
// value that is not a table is an error.
func setSerializeValue(root map[string]any, key string, value any) error {
	node, start := root, 0
	for i := 1; i < len(key); i++ {
		if key[i] != '.' {
			continue
		}
		sub := key[start:i]
		start = i + 1
		switch next := node[sub].(type) {
		case nil:
			m := map[string]any{}
			node[sub] = m
			node = m
		case map[string]any:
			node = next
		default:
			return fmt.Errorf("the key '%s' could not be used as a serialize value. Subkey '%s' is not a table", key, sub)
		}
	}
	node[key[start:]] = value
	return nil
}
