package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/serve"
)

func serveCommand() command {
	return command{
		name:     "serve",
		summary:  "the standalone gateway: serve a kong.yml's routes without Kong",
		synopsis: "modelgate serve [--config kong.yml] [--listen :8000] [--ready-timeout 3m] [--cpuprofile FILE]",
		readme:   "Quickstart",
		flags:    serveFlags,
		run:      runServe,
	}
}

// serveFlags mirrors the flag set serve.Main parses, for the help page and
// the argument check; TestServeFlagsMirrorServe keeps the two in step.
func serveFlags() *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.String("config", "kong.yml", "the Kong declarative config `FILE`")
	fs.String("listen", ":8000", "listen on `ADDR`, host:port, like Kong's proxy port")
	fs.Duration("ready-timeout", 3*time.Minute, "wait this long (`DURATION`: 90s, 5m) for the sidecar's models")
	fs.String("cpuprofile", "", "write a Go CPU profile of the process to `FILE` until shutdown")
	return fs
}

func runServe(args []string) int {
	setupLogging()
	err := serve.Main(context.Background(), args)
	if err == nil {
		return 0
	}
	// serve's errors name themselves ("modelgate serve: ...").
	fmt.Fprintln(os.Stderr, err)
	return 1
}
