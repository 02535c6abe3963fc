package kongharness_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// TestAuditRecord: with privacy or audit on, the plugin adds the request's
// audit record to Kong's log serializer before its exit, never the text;
// with both off it makes no such call.
func TestAuditRecord(t *testing.T) {
	ctx := context.Background()
	schema := dumpedSchema(t)
	srv := startServer(t, kongharness.Options{})
	consumers := map[string]kongharness.Consumer{"demo": {ID: "c0ffee", Username: "demo"}}
	predict := kongharness.Request{Method: "POST", Path: "/v1/models/text_sentiment:predict", Consumers: consumers,
		Header: http.Header{"Apikey": {apiKey}, "Content-Type": {"application/json"}},
		Body:   []byte(`{"instances":["write to ana.silva@example.com", "or to bo@example.org and cy@example.net"]}`)}
	tests := []struct {
		name  string
		edit  func(map[string]any)
		calls bool
		want  map[string]any // the record less latency_ms
	}{
		{"privacy", func(c map[string]any) {
			c["privacy"] = map[string]any{"detectors": []string{"email"}, "action": "detect",
				"tiers": map[string]any{"free": map[string]any{"action": "mask"}}}
		}, true, map[string]any{"consumer": "demo", "model": "text_sentiment", "version": "1", "status": 200.0, "items": 2.0,
			"action": "mask", "findings": map[string]any{"email": 3.0}}},
		{"audit", func(c map[string]any) { c["audit"] = true }, true,
			map[string]any{"consumer": "demo", "model": "text_sentiment", "version": "1", "status": 200.0, "items": 2.0}},
		{"off", func(map[string]any) {}, false, nil},
	}
	for _, tt := range tests {
		cfg := pluginConfig(t)
		tt.edit(cfg)
		if err := kongharness.CheckConfig(schema, cfg); err != nil {
			t.Fatalf("%s: Kong's schema refuses the config: %v", tt.name, err)
		}
		full, err := kongharness.WithKongNulls(schema, cfg)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := srv.StartInstance(ctx, "modelgate", full)
		if err != nil {
			t.Fatal(err)
		}
		waitReady(t, srv, inst.ID)
		res, err := srv.Access(ctx, inst.ID, predict)
		if err != nil || res.Status != 200 {
			t.Fatalf("%s: %v %+v %s", tt.name, err, res, res.Body)
		}
		at := slices.Index(res.Calls, "kong.log.set_serialize_value")
		if !tt.calls {
			if at >= 0 || res.Serialized != nil {
				t.Errorf("%s: set_serialize_value called: %v %v", tt.name, res.Calls, res.Serialized)
			}
			continue
		}
		if at < 0 || at != len(res.Calls)-2 || res.Calls[len(res.Calls)-1] != "kong.response.exit" {
			t.Fatalf("%s: calls %v: want set_serialize_value just before exit", tt.name, res.Calls)
		}
		record, _ := res.Serialized["modelgate"].(map[string]any)
		if ms, _ := record["latency_ms"].(float64); ms <= 0 {
			t.Errorf("%s: latency_ms %v", tt.name, record["latency_ms"])
		}
		delete(record, "latency_ms")
		if !reflect.DeepEqual(record, tt.want) {
			t.Errorf("%s: serialized %v, want %v", tt.name, record, tt.want)
		}
		b, _ := json.Marshal(res.Serialized)
		if strings.Contains(string(b), "@example") {
			t.Errorf("%s: the text reached the log serializer: %s", tt.name, b)
		}
	}
}
