package kong

import (
	"os"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/gateway"
)

// TestMain stops the sidecars the tests launched through the gateway's
// process-global registry.
func TestMain(m *testing.M) {
	code := m.Run()
	gateway.Shutdown()
	os.Exit(code)
}
