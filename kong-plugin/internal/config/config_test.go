package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Config{
		Sidecar: Sidecar{Mode: "fork", Env: []string{"NOEQUALS"}, StartTimeout: "soon"},
		Limits:  Limits{DefaultTimeout: "-1s"},
		Models: []Model{
			{Name: "../etc", Split: []SplitTarget{{Target: "a/b", Weight: -1}}},
			{Name: "m", Shadow: Shadow{Percent: 150, Source: "a/b"}, Pins: map[string]string{"c": ".."}},
			{Name: "m"},
		},
	}.WithDefaults()
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`sidecar.mode: "fork" is not launch or attach`,
		"sidecar.env[0]: want NAME=VALUE",
		"sidecar.start_timeout:",
		"limits.default_timeout: must be > 0",
		`models[0].name: "../etc" is not a model name`,
		"models[0].split[0].target:",
		"models[0].split[0].weight: must be >= 0",
		"models[0].split: weights add up to -1",
		"models[1].shadow.percent: 150 is not within 0..100",
		`models[1].shadow.source: "a/b" is neither an alias nor a version`,
		"models[1].pins.c:",
		`models[2].name: model "m" is listed twice`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestDefaultsAndCrossChecks(t *testing.T) {
	c := Config{}.WithDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("empty config with defaults: %v", err)
	}
	if c.Sidecar.Mode != "launch" || c.Sidecar.Command != DefaultCommand || c.Limits.MaxBodyBytes != DefaultMaxBodyBytes ||
		c.Limits.DefaultTimeout != DefaultTimeout || c.Sidecar.MaxMessageBytes != DefaultMaxMessageBytes {
		t.Errorf("defaults not applied: %+v", c)
	}
	a := Config{Sidecar: Sidecar{Mode: "attach"}}.WithDefaults()
	if a.Sidecar.Socket != DefaultSocket || a.Sidecar.Command != "" {
		t.Errorf("attach defaults: %+v", a.Sidecar)
	}
	bad, err := Load([]byte(`{"auth":{"consumers":[{"name":"c","tier":"gold","key_sha256":[]}]},
		"quotas":{"tiers":[{"name":"free","second":1}]},
		"models":[{"name":"m","allow_tiers":["platinum"]}]}`))
	_ = bad
	if err == nil || !strings.Contains(err.Error(), `auth.consumers[0].tier: tier "gold" is not in quotas.tiers`) ||
		!strings.Contains(err.Error(), `models[0].allow_tiers[0]: tier "platinum"`) {
		t.Errorf("cross-section checks: %v", err)
	}
}

func TestLoad(t *testing.T) {
	c, err := Load([]byte(`{"__seq__": 3, "__key__": "plugins:x", "__plugin_id": "x",
		"models": [{"name": "sentiment", "aliases": {"stable": "1"}, "default_alias": "stable"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Models) != 1 || c.Models[0].Aliases["stable"] != "1" {
		t.Errorf("loaded %+v", c)
	}
	if _, err := Load([]byte(`{"modles": []}`)); err == nil || !strings.Contains(err.Error(), "modles") {
		t.Errorf("unknown field: %v", err)
	}
}

func TestKeyIsContent(t *testing.T) {
	a := Config{Models: []Model{{Name: "m", Aliases: map[string]string{"a": "1", "b": "2"}}}}
	b := Config{Models: []Model{{Name: "m", Aliases: map[string]string{"b": "2", "a": "1"}}}}
	if Key(a) != Key(b) {
		t.Error("equal configs, different keys")
	}
	b.Models[0].Aliases["a"] = "3"
	if Key(a) == Key(b) {
		t.Error("different configs, same key")
	}
}

// TestSchemaSafeTypes guards go-pdk's reflection gaps: int64, uint64 and
// time.Duration fields vanish from Kong's schema, and a json tag with
// options becomes the field's name.
func TestSchemaSafeTypes(t *testing.T) {
	var walk func(reflect.Type, string)
	walk = func(tp reflect.Type, path string) {
		switch tp.Kind() {
		case reflect.Int64, reflect.Uint64:
			t.Errorf("%s: %s is dropped from Kong's schema by go-pdk", path, tp)
		case reflect.Slice, reflect.Pointer:
			walk(tp.Elem(), path+"[]")
		case reflect.Map:
			walk(tp.Key(), path+"{key}")
			walk(tp.Elem(), path+"{}")
		case reflect.Struct:
			for i := 0; i < tp.NumField(); i++ {
				f := tp.Field(i)
				tag := f.Tag.Get("json")
				if tag == "" || strings.Contains(tag, ",") {
					t.Errorf("%s.%s: json tag %q must be a plain name", path, f.Name, tag)
				}
				walk(f.Type, path+"."+tag)
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "config")
}
