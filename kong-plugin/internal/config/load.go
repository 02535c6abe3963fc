package config

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/modelgate/modelgate/kong-plugin/internal/trust"
)

// kongKeys are the fields Kong adds to a plugin config before it hands it
// to a plugin server.
var kongKeys = []string{"__seq__", "__key__", "__plugin_id"}

// Load decodes a plugin config from JSON, refusing unknown fields (Kong's
// own additions excepted) as Kong's schema check would, applies the
// defaults and validates under trust.FromEnv(). Every problem is reported
// at once.
func Load(data []byte) (Config, error) {
	return LoadWith(data, trust.FromEnv())
}

// LoadWith is Load under the operator's policy (one that knows the
// config's own folder, say).
func LoadWith(data []byte, policy trust.Policy) (Config, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return Config{}, fmt.Errorf("plugin config: %w", err)
	}
	for _, k := range kongKeys {
		delete(top, k)
	}
	clean, err := json.Marshal(top)
	if err != nil {
		return Config{}, fmt.Errorf("plugin config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(clean))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("plugin config: %w", err)
	}
	c = c.WithDefaults()
	if err := c.ValidateWith(policy); err != nil {
		return Config{}, err
	}
	return c, nil
}
