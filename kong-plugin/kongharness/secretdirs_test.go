package kongharness_test

import (
	"os"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

// TestMain allows the tests' temporary folders and the test model
// repository as an operator allows a secrets folder (MODELGATE_SECRET_DIRS):
// the configs the tests write name paths there.
func TestMain(m *testing.M) { os.Exit(testutil.MainWithSecretDirs(m)) }
