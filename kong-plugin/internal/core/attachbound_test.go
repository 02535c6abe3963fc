package core

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/pathbound"
	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/trust"
)

// TestAttachChecksTheSocketEachTime: attach mode's socket is checked at
// every (re)attach, not only when the config was validated: a link along
// its path re-pointed out of the allowed folders after start is refused
// before anything is dialled.
func TestAttachChecksTheSocketEachTime(t *testing.T) {
	allowed, outside := t.TempDir(), t.TempDir()
	link := filepath.Join(allowed, "run")
	if err := os.Symlink(filepath.Join(allowed, "real"), link); err != nil {
		t.Fatal(err)
	}
	connect := connector(config.Sidecar{Mode: "attach", Socket: filepath.Join(link, "sidecar.sock"), MaxMessageBytes: 1 << 20},
		"", trust.Policy{SecretDirs: []string{allowed}})
	attach := func() error {
		// Nothing listens: inside the folders, attaching fails only for that.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := connect(ctx)
		return err
	}
	if err := attach(); err == nil || errors.Is(err, pathbound.ErrOutside) {
		t.Fatalf("socket inside the folders: %v; want only the failure to connect", err)
	}
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	if err := attach(); !errors.Is(err, pathbound.ErrOutside) {
		t.Errorf("socket re-pointed outside: %v; want a refusal", err)
	}
}
