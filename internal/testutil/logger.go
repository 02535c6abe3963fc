package testutil

import (
	"log/slog"
	"testing"
)

// Logger logs warnings and errors to the test's output, so a failing test
// shows what the code under test complained about and a passing one stays quiet.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}
