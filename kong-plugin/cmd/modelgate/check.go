package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/modelgate/modelgate/kong-plugin/internal/kong"
	"github.com/modelgate/modelgate/kong-plugin/internal/kongschema"
	"github.com/modelgate/modelgate/kong-plugin/internal/serve"
)

const checkUsage = `usage: modelgate check FILE

Checks a Kong declarative file (kong.yml) before a deploy: every modelgate
plugin config against the schema this binary gives Kong (modelgate -dump),
with Kong 3.9.3's schema rules (no empty strings, no unknown fields, ...),
then with the plugin's own loader. Exit 0: Kong and the plugin would accept
it; 1: every problem is listed with its line; 2: usage.
`

// check is `modelgate check FILE`.
func check(args []string) int {
	return runCheck(args, os.Stdout, os.Stderr)
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, checkUsage) }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	file := fs.Arg(0)
	// go-pdk builds the schema from the type kong.New returns; so does Of.
	n, err := serve.CheckKong(file, kongschema.Of(kong.New()))
	var cfgErr *serve.ConfigError
	switch {
	case errors.As(err, &cfgErr):
		fmt.Fprintln(stderr, cfgErr)
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "modelgate check:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: OK (%d modelgate plugin config(s); Kong and the plugin would accept them)\n", file, n)
	return 0
}
