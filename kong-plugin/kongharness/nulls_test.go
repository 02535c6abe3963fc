package kongharness_test

import (
	"reflect"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/kongschema"
	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// TestWithKongNulls: Kong fills a missing record it requires (reached from
// config through records alone) and sets every other missing field null,
// records inside array elements included (kong/db/schema/entity.lua makes
// only those records required).
func TestWithKongNulls(t *testing.T) {
	type inner struct {
		Addr string `json:"addr"`
	}
	type elem struct {
		Name  string `json:"name"`
		Inner inner  `json:"inner"`
	}
	type config struct {
		Metrics inner  `json:"metrics"`
		Items   []elem `json:"items"`
		Tags    []string
	}
	got, err := kongharness.WithKongNulls(kongschema.Of(config{}), map[string]any{
		"items": []any{map[string]any{"name": "a"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"metrics": map[string]any{"addr": nil},
		"items":   []any{map[string]any{"name": "a", "inner": nil}},
		"tags":    nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}
