package kongharness_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// TestWaitReadyFailsOnARefusedConfig: a config the plugin refuses (here a
// file: secret outside the allowed folders) ends WaitReady at once with
// the plugin's own error, not after the caller's whole deadline.
func TestWaitReadyFailsOnARefusedConfig(t *testing.T) {
	srv := startServer(t, kongharness.Options{})
	cfg := map[string]any{
		"sidecar": map[string]any{"mode": "attach", "socket": "/run/modelgate/sidecar.sock"},
		"quotas": map[string]any{"policy": "redis", "tiers": []map[string]any{{"name": "t", "minute": 5}},
			"redis": map[string]any{"addr": "127.0.0.1:6379", "password": "file:/etc/passwd"}},
	}
	inst, err := srv.StartInstance(context.Background(), "modelgate", cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A deadline far past any test timeout: only failing fast ends the wait.
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	err = srv.WaitReady(ctx, inst.ID)
	if !errors.Is(err, kongharness.ErrConfigRejected) || !strings.Contains(err.Error(), "quotas.redis.password") ||
		!strings.Contains(err.Error(), "outside the allowed folders") {
		t.Fatalf("WaitReady = %v; want the plugin's refusal", err)
	}
	if ctx.Err() != nil {
		t.Fatal("WaitReady waited for the deadline")
	}
}
