// Command modelgate is the modelgate Kong plugin server (plugin name
// "modelgate"), plus two helpers:
//
//	modelgate [-dump] [-kong-prefix DIR]        the plugin server, as Kong starts it
//	modelgate keygen --consumer NAME [--tier T] a fresh API key and its config entry
//	modelgate serve --config kong.yml [--listen :8000]
//	                                            the standalone gateway (no Kong)
//
// Kong runs `modelgate -dump` (pluginserver_modelgate_query_cmd) to read the
// schema and `modelgate -kong-prefix DIR` (…_start_cmd) to serve on
// DIR/modelgate.socket.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/Kong/go-pdk/server"

	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
	"github.com/modelgate/modelgate/kong-plugin/internal/gateway"
	"github.com/modelgate/modelgate/kong-plugin/internal/kong"
	"github.com/modelgate/modelgate/kong-plugin/internal/serve"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "keygen":
			os.Exit(keygen(os.Args[2:]))
		case "check":
			os.Exit(check(os.Args[2:]))
		case "serve":
			setupLogging()
			if err := serve.Main(context.Background(), os.Args[2:]); err != nil {
				// serve's errors name themselves ("modelgate serve: ...").
				fmt.Fprintln(os.Stderr, err)
				if errors.Is(err, flag.ErrHelp) {
					os.Exit(2)
				}
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	setupLogging()
	// Kong stops the plugin server with SIGTERM (SIGINT by hand): stop the
	// launched sidecar with it instead of leaving an orphan.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		s := <-sigs
		slog.Info("stopping", "signal", s.String())
		gateway.Shutdown()
		os.Exit(0)
	}()
	if err := server.StartServer(kong.New, kong.Version, kong.Priority); err != nil {
		slog.Error("plugin server stopped", "err", err)
		gateway.Shutdown()
		os.Exit(1)
	}
	gateway.Shutdown()
}

// setupLogging writes structured logs to stderr, which Kong copies into its
// error log; MODELGATE_LOG_LEVEL (debug, info, warn, error) sets the level.
func setupLogging() {
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv("MODELGATE_LOG_LEVEL"))); err != nil {
		level = slog.LevelInfo
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
}

func keygen(args []string) int {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	consumer := fs.String("consumer", "", "consumer name (required)")
	tier := fs.String("tier", "", "quota tier (default "+auth.DefaultKeygenTier+")")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *consumer == "" {
		fmt.Fprintln(os.Stderr, "modelgate keygen: --consumer is required")
		return 2
	}
	if err := auth.Keygen(os.Stdout, *consumer, *tier); err != nil {
		fmt.Fprintln(os.Stderr, "modelgate keygen:", err)
		return 1
	}
	return 0
}
