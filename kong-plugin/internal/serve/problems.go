package serve

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// problem is one thing wrong with the config file, at a place in it.
type problem struct {
	line, column int
	path         string // where in the document, e.g. plugins[0].config.auth.jwt[0].public_key
	message      string
}

// problems collects every problem of a file, so that one start lists them all.
type problems struct {
	file string
	list []problem
}

// at records a problem at node (nil: the top of the file).
func (p *problems) at(node *yaml.Node, path, format string, args ...any) {
	pr := problem{path: path, message: fmt.Sprintf(format, args...)}
	if node != nil {
		pr.line, pr.column = node.Line, node.Column
	}
	p.list = append(p.list, pr)
}

// err is nil without problems, else an error listing each on its own line,
// in file order.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ConfigError{File: p.file, problems: p.list}
}

// ConfigError lists every problem found in a config file, each as
// FILE:LINE:COLUMN: PATH: MESSAGE.
type ConfigError struct {
	File     string
	problems []problem
}

// Error implements error.
func (e *ConfigError) Error() string {
	list := append([]problem(nil), e.problems...)
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].line != list[j].line {
			return list[i].line < list[j].line
		}
		return list[i].column < list[j].column
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s):", e.File, len(list))
	for _, pr := range list {
		if pr.line > 0 {
			fmt.Fprintf(&b, "\n  %s:%d:%d: ", e.File, pr.line, pr.column)
		} else {
			fmt.Fprintf(&b, "\n  %s: ", e.File)
		}
		if pr.path != "" {
			b.WriteString(pr.path + ": ")
		}
		b.WriteString(pr.message)
	}
	return b.String()
}

// Len is the number of problems.
func (e *ConfigError) Len() int { return len(e.problems) }
