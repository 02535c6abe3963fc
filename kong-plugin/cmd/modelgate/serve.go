package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/modelgate/modelgate/kong-plugin/internal/serve"
)

func serveCommand() command {
	return command{
		name:     "serve",
		summary:  "the standalone gateway: serve a kong.yml's routes without Kong",
		synopsis: "modelgate serve [--config kong.yml] [--listen :8000] [flags]",
		readme:   "Quickstart",
		flags:    serveFlags,
		run:      runServe,
	}
}

// serveFlags is serve's own flag set, for the help page and the argument check.
func serveFlags() *flag.FlagSet { return serve.FlagSet(&serve.Options{}) }

func runServe(args []string) int {
	setupLogging()
	setupDemoMode()
	err := serve.Main(context.Background(), args)
	if err == nil {
		return 0
	}
	// serve's errors name themselves ("modelgate serve: ...").
	fmt.Fprintln(os.Stderr, err)
	return 1
}
