package kong

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// TestBodyReadAfterAuthentication drives the built plugin server over
// Kong's socket protocol: a request without valid credentials is answered
// 401 without kong.request.get_raw_body (issue 12, item 1), and an
// authenticated one reads its body once.
func TestBodyReadAfterAuthentication(t *testing.T) {
	ctx := context.Background()
	lib := testutil.ORTLib(t)
	// --ort-lib must name the plugin server's $ORT_LIB, passed as the image passes it.
	srv, err := kongharness.Start(ctx, testutil.Binary(t, "modelgate"), kongharness.Options{Output: logWriter{t},
		Env: []string{"ORT_LIB=" + lib, "KONG_NGINX_MAIN_ENV=ORT_LIB; env MODELGATE_SECRET_DIRS"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	sum := sha256.Sum256([]byte(testKey))
	inst, err := srv.StartInstance(ctx, "modelgate", map[string]any{
		"sidecar": map[string]any{"mode": "launch", "command": testutil.Binary(t, "modelgate-sidecar"),
			"args": []string{"--models", testutil.TestModels(), "--ort-lib", lib, "--log-level", "warn"}},
		"auth": map[string]any{"consumers": []any{map[string]any{"name": "demo", "tier": "free",
			"key_sha256": []string{hex.EncodeToString(sum[:])}}}},
		"models": []any{map[string]any{"name": "adder", "aliases": map[string]string{"stable": "2"}, "default_alias": "stable"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(adderBody)
	for _, key := range []string{"", "mg_test_wrong_0123456789"} {
		h := http.Header{"Content-Type": {"application/json"}}
		if key != "" {
			h.Set("Apikey", key)
		}
		res, err := srv.Access(ctx, inst.ID, kongharness.Request{Method: "POST", Path: "/v2/models/adder/infer", Header: h, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"kong.request.get_method", "kong.request.get_path_with_query", "kong.request.get_headers", "kong.response.exit"}
		if res.Status != http.StatusUnauthorized || !reflect.DeepEqual(res.Calls, want) {
			t.Errorf("key %q: %d, PDK calls %v, want a 401 after %v", key, res.Status, res.Calls, want)
		}
	}

	hdr := http.Header{"Apikey": {testKey}, "Content-Type": {"application/json"}}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res, err := srv.Access(ctx, inst.ID, kongharness.Request{Method: "POST", Path: "/v2/models/adder/infer", Header: hdr, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status == http.StatusServiceUnavailable && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		want := []string{"kong.request.get_method", "kong.request.get_path_with_query", "kong.request.get_headers",
			"kong.request.get_raw_body", "kong.response.exit"}
		if res.Status != http.StatusOK || !reflect.DeepEqual(res.Calls, want) {
			t.Errorf("valid key: %d %s, PDK calls %v, want %v", res.Status, res.Body, res.Calls, want)
		}
		return
	}
}

// logWriter sends the plugin server's log to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
