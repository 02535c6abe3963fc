package privacy

import (
	"os"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
)

// TestMain allows the tests' temporary folders as an operator allows a
// secrets folder (MODELGATE_SECRET_DIRS): the hash_key files live there.
func TestMain(m *testing.M) {
	os.Exit(testutil.MainWithSecretDirs(m))
}
