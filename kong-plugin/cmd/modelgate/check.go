package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/modelgate/modelgate/kong-plugin/internal/kong"
	"github.com/modelgate/modelgate/kong-plugin/internal/kongschema"
	"github.com/modelgate/modelgate/kong-plugin/internal/serve"
)

func checkCommand() command {
	return command{
		name:     "check",
		summary:  "check a kong.yml as Kong 3.9.3 and the plugin would load it; list every problem",
		synopsis: "modelgate check FILE",
		readme:   "Quickstart",
		run:      check,
	}
}

// check is `modelgate check FILE`; the command framework has refused flags
// and answered --help already.
func check(args []string) int {
	switch {
	case len(args) != 1:
		return checkCommand().usageError("takes exactly one FILE")
	case strings.HasPrefix(args[0], "-"):
		return checkCommand().usageError(fmt.Sprintf("unknown flag %q", args[0]))
	}
	return runCheck(args[0], os.Stdout, os.Stderr)
}

func runCheck(file string, stdout, stderr io.Writer) int {
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
