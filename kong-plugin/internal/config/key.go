package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Key is a content key: the hex SHA-256 of v's JSON encoding. encoding/json
// writes struct fields in declaration order and map keys sorted, so equal
// configs get equal keys whatever order kong.yml wrote them in, and Kong's
// own additions (__seq__, __key__, __plugin_id) never reach it because the
// structs have no such fields.
func Key(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Config structs hold only strings, numbers, bools, slices and maps.
		panic("config: encoding a config for its key: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
