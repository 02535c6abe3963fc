package core

import (
	"os"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

// TestMain stops the sidecars the tests launched: the registry is
// process-global and would otherwise leave them running. The tests'
// temporary folders are allowed as an operator allows a secrets folder
// (MODELGATE_SECRET_DIRS).
func TestMain(m *testing.M) {
	os.Exit(testutil.MainWithSecretDirs(m, Shutdown))
}
