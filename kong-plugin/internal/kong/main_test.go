package kong

import (
	"os"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"

	"github.com/modelgate/modelgate/kong-plugin/internal/core"
)

// TestMain stops the sidecars the tests launched through the gateway's
// process-global registry, with the tests' temporary folders allowed as
// an operator allows a secrets folder (MODELGATE_SECRET_DIRS).
func TestMain(m *testing.M) {
	os.Exit(testutil.MainWithSecretDirs(m, core.Shutdown))
}
