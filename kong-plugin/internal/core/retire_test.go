package core

import (
	"context"
	"testing"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/config"
)

// TestSupersededSidecarIsRetired changes the sidecar section, as a kong.yml
// edit and a Kong reload would: the old sidecar keeps serving the old config
// while it is in use, is stopped once it has been idle and another sidecar
// has been used since, and the old config, if it comes back, gets a new one.
func TestSupersededSidecarIsRetired(t *testing.T) {
	a, q := testAuth()
	oldCfg := config.Config{Sidecar: testSidecar(t, "--max-elements", "1000001"), Auth: a, Quotas: q}
	newCfg := config.Config{Sidecar: testSidecar(t, "--max-elements", "1000002"), Auth: a, Quotas: q}
	old := startGateway(t, oldCfg)
	cur := startGateway(t, newCfg)
	if old.sidecar == cur.sidecar {
		t.Fatal("two sidecar sections share one sidecar")
	}
	decodeResult(t, call(cur, "POST", "/v2/models/adder/infer", keyAlice, adderBody))

	// Recently used: nothing is retired yet, and both still serve.
	retireSuperseded(time.Now(), time.Minute)
	decodeResult(t, call(old, "POST", "/v2/models/adder/infer", keyAlice, adderBody))
	decodeResult(t, call(cur, "POST", "/v2/models/adder/infer", keyAlice, adderBody))

	// An hour later, with the new config used last, the old sidecar goes.
	retireSuperseded(time.Now().Add(time.Hour), time.Minute)
	if _, err := old.sidecar.client(context.Background()); err == nil {
		t.Fatal("the superseded sidecar still has a live client")
	}
	decodeResult(t, call(cur, "POST", "/v2/models/adder/infer", keyAlice, adderBody))
	registry.mu.Lock()
	_, kept := registry.sidecars[config.Key(oldCfg.WithDefaults().Sidecar)]
	registry.mu.Unlock()
	if kept {
		t.Fatal("the registry still holds the superseded sidecar")
	}

	// The old config coming back builds a fresh gateway and sidecar.
	again := startGateway(t, oldCfg)
	if again == old || again.sidecar == old.sidecar {
		t.Fatal("the old config got its retired gateway back")
	}
	decodeResult(t, call(again, "POST", "/v2/models/adder/infer", keyAlice, adderBody))
}
