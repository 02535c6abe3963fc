package core

import (
	"os"
	"testing"
)

// TestMain stops the sidecars the tests launched: the registry is
// process-global and would otherwise leave them running.
func TestMain(m *testing.M) {
	code := m.Run()
	Shutdown()
	os.Exit(code)
}
