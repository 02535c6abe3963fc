package kong

import (
	"os"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/core"
)

// TestMain stops the sidecars the tests launched through the gateway's
// process-global registry.
func TestMain(m *testing.M) {
	code := m.Run()
	core.Shutdown()
	os.Exit(code)
}
