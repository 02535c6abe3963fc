package kongschema

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type testInner struct {
	Addr string `json:"addr"`
}

type testElem struct {
	Name  string    `json:"name"`
	Inner testInner `json:"inner"`
}

type testConfig struct {
	Name    string            `json:"name"`
	Count   int               `json:"count"`
	Small   uint32            `json:"small"`
	Ratio   float64           `json:"ratio"`
	On      bool              `json:"on"`
	Tags    []string          `json:"tags"`
	Labels  map[string]string `json:"labels"`
	Metrics testInner         `json:"metrics"`
	Deep    struct {
		Inner testInner `json:"inner"`
	} `json:"deep"`
	Items []testElem           `json:"items"`
	ByKey map[string]testInner `json:"by_key"`
	Wide  int64                `json:"wide"` // go-pdk leaves int64 out
	Plain string               // no tag: go-pdk names it "plain"
}

func parse(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

// TestCheckLikeKong: each case is a config Kong 3.9.3's schema library
// accepts (want "") or refuses, with the path and message it refuses.
func TestCheckLikeKong(t *testing.T) {
	schema := Of(testConfig{})
	tests := []checkCase{
		{"empty config", `{}`, nil},
		{"all nulls", `{name: null, count: null, tags: null, labels: null, items: null, by_key: null}`, nil},
		{"valid values", `{name: x, count: 3, small: 7, ratio: 0.5, on: true, tags: [a], labels: {k: v}, metrics: {addr: ":1"}, plain: p}`, nil},
		{"empty string", `{name: ""}`, []string{"config.name: length must be at least 1"}},
		{"nested empty string", `{metrics: {addr: ""}}`, []string{"config.metrics.addr: length must be at least 1"}},
		{"number as string", `{name: 5}`, []string{"config.name: expected a string"}},
		{"string as integer", `{count: "5"}`, []string{"config.count: expected an integer"}},
		{"fraction as integer", `{count: 1.5}`, []string{"config.count: expected an integer"}},
		{"integral float as integer", `{count: 2.0}`, nil},
		{"infinite integer", `{count: .inf}`, []string{"config.count: expected an integer"}},
		{"integer as number", `{ratio: 2}`, nil},
		{"string as number", `{ratio: "2"}`, []string{"config.ratio: expected a number"}},
		{"string as boolean", `{on: "true"}`, []string{"config.on: expected a boolean"}},
		{"unsigned below", `{small: -1}`, []string{"config.small: value should be between 0 and 2147483648"}},
		{"unsigned above", `{small: 2147483649}`, []string{"config.small: value should be between 0 and 2147483648"}},
		{"unsigned top", `{small: 2147483648}`, nil},
		{"unknown field", `{nope: 1}`, []string{"config.nope: unknown field"}},
		{"int64 left out of the schema", `{wide: 1}`, []string{"config.wide: unknown field"}},
		{"updated_at is never validated", `{updated_at: 1}`, nil},
		{"nested unknown", `{metrics: {port: 1}}`, []string{"config.metrics.port: unknown field"}},
		{"null record is required", `{metrics: null}`, []string{"config.metrics: required field missing"}},
		{"null deep record is required", `{deep: {inner: null}}`, []string{"config.deep.inner: required field missing"}},
		{"record as string", `{metrics: x}`, []string{"config.metrics: expected a record"}},
		{"empty list as record", `{metrics: []}`, nil},
		{"list as record", `{metrics: [a]}`, []string{"config.metrics[0]: unknown field"}},
		{"null element", `{tags: [a, null]}`, []string{"config.tags[1]: required field missing"}},
		{"empty element", `{tags: [""]}`, []string{"config.tags[0]: length must be at least 1"}},
		{"array as string", `{tags: a}`, []string{"config.tags: expected an array"}},
		{"empty mapping as array", `{tags: {}}`, nil},
		{"mapping as array", `{tags: {a: b}}`, []string{"config.tags: expected an array"}},
		{"record in an element: its record is not required", `{items: [{name: a, inner: null}]}`, nil},
		{"record in an element: unknown field", `{items: [{name: a, x: 1}]}`, []string{"config.items[0].x: unknown field"}},
		{"record in an element: empty string", `{items: [{inner: {addr: ""}}]}`, []string{"config.items[0].inner.addr: length must be at least 1"}},
		{"null map value", `{labels: {k: null}}`, []string{"config.labels.k: required field missing"}},
		{"empty map value", `{labels: {k: ""}}`, []string{"config.labels.k: length must be at least 1"}},
		{"empty map key", `{labels: {"": v}}`, []string{"config.labels. (the key): length must be at least 1"}},
		{"number map key", `{labels: {1: v}}`, []string{"config.labels.1 (the key): expected a string"}},
		{"map as list", `{labels: [a]}`, []string{"config.labels: expected a string"}},
		{"empty list as map", `{labels: []}`, nil},
		{"map as string", `{labels: x}`, []string{"config.labels: expected a map"}},
		{"null record map value", `{by_key: {k: null}}`, []string{"config.by_key.k: required field missing"}},
		{"record map value", `{by_key: {k: {addr: ""}}}`, []string{"config.by_key.k.addr: length must be at least 1"}},
		{"every problem at once", `{name: "", count: x, nope: 1}`, []string{"config.name: length", "config.count: expected an integer", "config.nope: unknown field"}},
	}
	runChecks(t, schema, tests)
}

// TestCheckSet: Kong's set type, which go-pdk never writes, checks as an
// array with its own message.
func TestCheckSet(t *testing.T) {
	schema := Field{Type: "record", Fields: []map[string]Field{{"s": {Type: "set", Elements: &Field{Type: "string"}}}}}
	tests := []checkCase{
		{"duplicates", `{s: [a, a]}`, nil},
		{"empty string", `{s: [""]}`, []string{"config.s[0]: length must be at least 1"}},
		{"string as set", `{s: a}`, []string{"config.s: expected a set"}},
	}
	runChecks(t, schema, tests)
}

// checkCase is a one-line config and the problems Kong finds in it:
// "path: message prefix", in order; none when Kong accepts it.
type checkCase struct {
	name, config string
	want         []string
}

func runChecks(t *testing.T, schema Field, tests []checkCase) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Check(schema, parse(t, tt.config), "config")
			if len(got) != len(tt.want) {
				t.Fatalf("%s: got %v, want %v", tt.config, got, tt.want)
			}
			for i, p := range got {
				if !strings.HasPrefix(p.String(), tt.want[i]) {
					t.Errorf("%s: problem %d is %q, want %q...", tt.config, i, p, tt.want[i])
				}
				if p.Line != 1 || p.Column == 0 {
					t.Errorf("%s: problem %q has no place (%d:%d)", tt.config, p, p.Line, p.Column)
				}
			}
		})
	}
}

// TestCheckConfigRequired: a plugin entry with no config is filled by Kong;
// an explicit null config is refused.
func TestCheckConfigRequired(t *testing.T) {
	schema := Of(testConfig{})
	if got := Check(schema, nil, "config"); len(got) != 0 {
		t.Errorf("missing config: %v", got)
	}
	got := Check(schema, parse(t, "null"), "config")
	if len(got) != 1 || got[0].String() != "config: required field missing" {
		t.Errorf("null config: %v", got)
	}
}

// TestCheckFileFindsEveryPlugin: plugins at the top, in services, routes
// (nested too) and consumers are checked; other plugins are not.
func TestCheckFileFindsEveryPlugin(t *testing.T) {
	src := `_format_version: "3.0"
plugins:
  - name: other
    config: {name: ""}
  - name: mine
    config: {name: ""}
services:
  - name: s
    url: http://x
    routes:
      - name: r
        paths: [/r]
        plugins:
          - name: mine
            config: {count: x}
    plugins:
      - name: mine
routes:
  - name: top
    paths: [/t]
    plugins:
      - name: mine
        config: null
consumers:
  - username: c
    plugins:
      - name: mine
        config: {tags: [""]}
`
	plugins, problems, err := CheckFile(Of(testConfig{}), []byte(src), "mine")
	if err != nil {
		t.Fatal(err)
	}
	if len(plugins) != 5 {
		t.Errorf("found %d plugins, want 5", len(plugins))
	}
	want := []string{
		"plugins[1].config.name: length must be at least 1",
		"services[0].routes[0].plugins[0].config.count: expected an integer",
		"routes[0].plugins[0].config: required field missing",
		"consumers[0].plugins[0].config.tags[0]: length must be at least 1",
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.Path+": "+strings.SplitN(p.Message, ",", 2)[0])
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if problems[0].Line != 6 {
		t.Errorf("first problem on line %d, want 6", problems[0].Line)
	}
	if _, _, err := CheckFile(Of(testConfig{}), []byte("a: [b"), "mine"); err == nil {
		t.Error("broken YAML: no error")
	}
}
