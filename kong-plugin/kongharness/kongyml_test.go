package kongharness_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/trust"
	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// checkKongYML checks every modelgate plugin config in a Kong declarative
// file against the schema `modelgate -dump` prints, as Kong would when it
// loads the file, and against the plugin's own validation.
func checkKongYML(t *testing.T, path string) {
	t.Helper()
	// metrics.addr ":9542" listens on every interface: the image allows it (Dockerfile).
	t.Setenv("MODELGATE_ALLOW_LISTEN", ":9542")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	configs, err := kongharness.PluginConfigs(data, "modelgate")
	if err != nil {
		t.Fatal(err)
	}
	if len(configs) == 0 {
		t.Fatalf("%s has no modelgate plugin", path)
	}
	schema := dumpedSchema(t)
	for place, cfg := range configs {
		if err := kongharness.CheckConfig(schema, cfg); err != nil {
			t.Errorf("%s %s: Kong would refuse it:\n%v", path, place, err)
		}
		raw, _ := json.Marshal(cfg)
		if _, err := config.LoadWith(raw, trust.FromEnv().InFolderOf(path)); err != nil {
			t.Errorf("%s %s: the plugin would refuse it:\n%v", path, place, err)
		}
	}
}

func TestExampleKongYML(t *testing.T) {
	checkKongYML(t, "testdata/kong.yml")
}

// TestRepositoryKongYML checks the kong.yml files the project ships, as
// Kong would load them: the root one (`make run`, the README) and the
// production variant under deploy/.
func TestRepositoryKongYML(t *testing.T) {
	for _, f := range []string{"kong.yml", "deploy/kong/kong.yml"} {
		checkKongYML(t, filepath.Join(testutil.RepoRoot(), f))
	}
}
