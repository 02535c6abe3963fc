package kongharness

import (
	"encoding/json"
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/modelgate/modelgate/kong-plugin/internal/kongschema"
)

// Field is one node of a Kong schema as go-pdk writes it (see
// kongschema.Field).
type Field = kongschema.Field

// CheckConfig validates a plugin config (any JSON-encodable value, e.g.
// decoded from kong.yml) against a record schema the way Kong 3.9.3's
// schema library does when it loads a declarative file (kongschema.Check
// lists the rules and the Kong files they follow): empty strings, nulls
// where Kong requires a value, wrong types, bounds and unknown fields are
// errors. Every problem is reported at once, each with its path.
func CheckConfig(schema Field, config any) error {
	b, err := json.Marshal(config)
	if err != nil {
		return fmt.Errorf("encoding the config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return err
	}
	var errs []error
	for _, p := range kongschema.Check(schema, doc.Content[0], "config") {
		errs = append(errs, errors.New(p.String()))
	}
	return errors.Join(errs...)
}
