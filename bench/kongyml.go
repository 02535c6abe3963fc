package bench

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// GatewayConfig is the part of a kong.yml's `modelgate` plugin config that
// benchmarks and resilience tests vary. WriteKongYAML fills in the rest.
type GatewayConfig struct {
	// Sidecar is the plugin config's sidecar section as a map, e.g.
	// {"mode": "launch", "command": "bin/modelgate-sidecar", "args": [...]}.
	Sidecar map[string]any
	// APIKeySHA256 is the digest of the one consumer's ("bench") API key.
	APIKeySHA256 string
	// Tier is the consumer's tier; nil means HugeTier.
	Tier map[string]any
	// Quotas overrides the quotas section but its tiers (policy, redis, fault_tolerant).
	Quotas map[string]any
	// JWT lists issuers, as maps of the auth.jwt entries.
	JWT []map[string]any
	// Limits is the limits section (nil: defaults).
	Limits map[string]any
	// Models is the models section (nil: none, the sidecar's latest version answers).
	Models []map[string]any
	// Extra is merged into the plugin config last.
	Extra map[string]any
}

// HugeTier is a tier whose limits a benchmark never reaches: every limit is
// set (none is 0, "no limit"), so each request is counted against all of
// them without any being refused.
func HugeTier() map[string]any {
	return map[string]any{
		"name": "bench", "second": 100_000_000, "minute": 1_000_000_000, "hour": 1_000_000_000,
		"day": 1_000_000_000, "concurrency": 100_000, "items_per_day": 1_000_000_000,
	}
}

// NewAPIKey returns a random API key and its hex SHA-256 for the config.
func NewAPIKey() (key, digest string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	key = "mg_" + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(key))
	return key, hex.EncodeToString(sum[:])
}

// PluginConfig is the `modelgate` plugin's config map for g.
func (g GatewayConfig) PluginConfig() map[string]any {
	tier := g.Tier
	if tier == nil {
		tier = HugeTier()
	}
	quotas := map[string]any{"policy": "local", "fault_tolerant": true}
	for k, v := range g.Quotas {
		quotas[k] = v
	}
	quotas["tiers"] = []any{tier}
	auth := map[string]any{
		"consumers": []any{map[string]any{"name": "bench", "tier": tier["name"], "key_sha256": []string{g.APIKeySHA256}}},
	}
	if len(g.JWT) > 0 {
		auth["jwt"] = g.JWT
	}
	cfg := map[string]any{"sidecar": g.Sidecar, "auth": auth, "quotas": quotas}
	if g.Limits != nil {
		cfg["limits"] = g.Limits
	}
	if g.Models != nil {
		cfg["models"] = g.Models
	}
	for k, v := range g.Extra {
		cfg[k] = v
	}
	return cfg
}

// WriteKongYAML writes a Kong declarative config at path with one service
// whose routes (/v2, /v1/models) carry the modelgate plugin configured by g,
// the layout of the repository's kong.yml.
func WriteKongYAML(path string, g GatewayConfig) error {
	doc := map[string]any{
		"_format_version": "3.0",
		"_transform":      true,
		"services": []any{map[string]any{
			"name": "modelgate",
			"url":  "http://127.0.0.1:9",
			"routes": []any{map[string]any{
				"name": "modelgate-inference", "paths": []string{"/v2", "/v1/models"}, "strip_path": false,
			}},
			"plugins": []any{map[string]any{"name": "modelgate", "config": g.PluginConfig()}},
		}},
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encoding kong.yml: %w", err)
	}
	return os.WriteFile(path, data, 0o600)
}
