package kongharness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
)

// Info is what `modelgate -dump` prints, as Kong's query_cmd reads it.
type Info struct {
	Protocol   string
	SocketPath string
	Plugins    []PluginInfo
}

// PluginInfo describes one plugin of the server.
type PluginInfo struct {
	Name     string
	Phases   []string
	Version  string
	Priority int
	// Schema is Kong's plugin schema: {"name": ..., "fields": [{"config": {record}}]}.
	Schema Field
}

// Dump runs `binary -dump` and parses its output. Kong requires the
// ProtoBuf:1 protocol for go-pdk servers; anything else is an error.
func Dump(ctx context.Context, binary string) (*Info, error) {
	cmd := exec.CommandContext(ctx, binary, "-dump")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s -dump: %w: %s", binary, err, stderr.Bytes())
	}
	var info Info
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, fmt.Errorf("%s -dump printed no plugin info: %w", binary, err)
	}
	if info.Protocol != "ProtoBuf:1" {
		return nil, fmt.Errorf("%s -dump: protocol %q, want ProtoBuf:1", binary, info.Protocol)
	}
	if len(info.Plugins) == 0 {
		return nil, fmt.Errorf("%s -dump lists no plugins", binary)
	}
	return &info, nil
}

// ConfigSchema returns the record schema of the plugin's `config` field.
func (p PluginInfo) ConfigSchema() (Field, error) {
	for _, f := range p.Schema.Fields {
		if c, ok := f["config"]; ok {
			return c, nil
		}
	}
	return Field{}, fmt.Errorf("plugin %s: the schema has no config field", p.Name)
}
