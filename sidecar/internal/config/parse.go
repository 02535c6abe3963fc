package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong in a config file, with where it is.
type Problem struct {
	Line int    // 0 when unknown
	Path string // e.g. "dynamic_batching.max_queue_delay"; empty for the file as a whole
	Msg  string
}

// String renders the problem as "line N: path: message".
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error lists every problem of one config file.
type Error struct {
	File     string
	Problems []Problem
}

// Error lists the problems, one per line, each prefixed with the file.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "  " + e.File + ": " + p.String()
	}
	return fmt.Sprintf("%s: %d problem(s):\n%s", e.File, len(e.Problems), strings.Join(lines, "\n"))
}

// Load reads and parses the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading model config: %w", err)
	}
	return Parse(path, data)
}

var (
	unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)
	alreadySet   = regexp.MustCompile(`field (\S+) already set in type \S+`)
	typeMismatch = regexp.MustCompile(`cannot unmarshal !!(\w+) ` + "`" + `([^` + "`" + `]*)` + "`" + ` into (\S+)`)
	lineRef      = regexp.MustCompile(`^line (\d+): (.*)$`)
)

// Parse decodes and validates a config; file names it in errors. Unknown
// keys, wrong types and invalid values are all reported together as *Error.
func Parse(file string, data []byte) (*Config, error) {
	e := &Error{File: file}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		e.Problems = append(e.Problems, Problem{Msg: strings.TrimPrefix(err.Error(), "yaml: ")})
		return nil, e
	}
	cfg := &Config{}
	if len(root.Content) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
			var te *yaml.TypeError
			if !errors.As(err, &te) {
				e.Problems = append(e.Problems, Problem{Msg: strings.TrimPrefix(err.Error(), "yaml: ")})
				return nil, e
			}
			for _, msg := range te.Errors {
				e.Problems = append(e.Problems, decodeProblem(msg))
			}
		}
	}
	v := &validator{root: &root}
	v.validate(cfg)
	e.Problems = append(e.Problems, v.problems...)
	sort.SliceStable(e.Problems, func(i, j int) bool { return e.Problems[i].Line < e.Problems[j].Line })
	if len(e.Problems) > 0 {
		return nil, e
	}
	cfg.applyDefaults()
	return cfg, nil
}

// decodeProblem rewrites yaml.v3's messages, which name Go types, in the
// words of the file.
func decodeProblem(msg string) Problem {
	p := Problem{Msg: msg}
	if m := lineRef.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &p.Line)
		p.Msg = m[2]
	}
	if m := unknownField.FindStringSubmatch(p.Msg); m != nil {
		p.Msg = fmt.Sprintf("unknown key %q", m[1])
	} else if m := alreadySet.FindStringSubmatch(p.Msg); m != nil {
		p.Msg = fmt.Sprintf("key %q given twice", m[1])
	} else if m := typeMismatch.FindStringSubmatch(p.Msg); m != nil {
		kind := map[string]string{"str": "string", "int": "integer", "float": "number", "bool": "boolean", "seq": "list", "map": "mapping"}[m[1]]
		if kind == "" {
			kind = m[1]
		}
		p.Msg = fmt.Sprintf("%q is a %s, want %s", m[2], kind, friendlyType(m[3]))
	}
	return p
}

func friendlyType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.Contains(goType, "int"):
		return "an integer"
	case strings.Contains(goType, "float"):
		return "a number"
	case goType == "bool" || goType == "*bool":
		return "true or false"
	case goType == "string":
		return "a string"
	default:
		return "a mapping"
	}
}

func (c *Config) applyDefaults() {
	if len(c.InstanceGroup.ExecutionProviders) == 0 {
		c.InstanceGroup.ExecutionProviders = []string{"cpu"}
	}
	if c.DynamicBatching != nil && c.DynamicBatching.MaxQueueSize == 0 {
		c.DynamicBatching.MaxQueueSize = DefaultMaxQueueSize
	}
	if c.VersionPolicy.Latest == nil && c.VersionPolicy.All == nil && c.VersionPolicy.Specific == nil {
		n := DefaultLatest
		c.VersionPolicy.Latest = &n
	}
	if t := c.Preprocess.Text; t != nil && t.Lowercase == nil {
		yes := true
		t.Lowercase = &yes
	}
}
