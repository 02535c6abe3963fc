package kongharness

import (
	"reflect"
	"testing"
)

func TestSetSerializeValue(t *testing.T) {
	root := map[string]any{"request": map[string]any{"size": 3}}
	for _, kv := range []struct {
		k string
		v any
	}{{"modelgate", map[string]any{"status": 200}}, {"a.b.c", 1}, {"request.model", "m"}, {".lead", true}} {
		if err := setSerializeValue(root, kv.k, kv.v); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]any{"request": map[string]any{"size": 3, "model": "m"}, "modelgate": map[string]any{"status": 200},
		"a": map[string]any{"b": map[string]any{"c": 1}}, ".lead": true}
	if !reflect.DeepEqual(root, want) {
		t.Errorf("got %v, want %v", root, want)
	}
	if err := setSerializeValue(root, "request.size.x", 1); err == nil {
		t.Error("a path through a number was accepted")
	}
}
