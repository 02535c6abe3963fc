// Command modelgate is the modelgate Kong plugin server (plugin name
// "modelgate") and the project's command-line tools:
//
//	modelgate [-kong-prefix DIR] [-dump]   the plugin server, as Kong starts it
//	modelgate COMMAND [ARGS]               serve, check, keygen, version, help (see commands.go)
//
// Kong runs `modelgate -dump` (pluginserver_modelgate_query_cmd) to read the
// schema and the bare binary or `modelgate -kong-prefix DIR` (…_start_cmd) to
// serve on DIR/modelgate.socket; the query reaches go-pdk unchanged, and
// the plugin server is internal/pluginserver.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/Kong/go-pdk/server"

	"github.com/modelgate/modelgate/internal/goruntime"
	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/core"
	"github.com/modelgate/modelgate/kong-plugin/internal/kong"
	"github.com/modelgate/modelgate/kong-plugin/internal/pluginserver"
)

func main() {
	os.Exit(dispatch(os.Args[1:]))
}

// dispatch picks what the arguments ask for. Kong's own invocations
// (kong/conf_loader/init.lua in Kong 3.9.3: the default start command is the
// bare binary, the default query command the binary with -dump; a configured
// start command usually adds -kong-prefix) always start with a flag or
// nothing, so a first argument that is not a flag names a command, and one
// that names none is a usage error rather than a plugin server that ignores
// it.
func dispatch(args []string) int {
	if len(args) == 0 {
		return pluginServer(pluginServerFlags(io.Discard).Lookup("kong-prefix").DefValue, false)
	}
	name := args[0]
	if cmd, ok := lookup(commandName(name)); ok {
		return cmd.invoke(args[1:])
	}
	if !strings.HasPrefix(name, "-") {
		return usageError(fmt.Sprintf("unknown command %q", name))
	}
	fs := pluginServerFlags(io.Discard)
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		writeUsage(os.Stdout)
		return 0
	case err != nil:
		return usageError(err.Error())
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	return pluginServer(fs.Lookup("kong-prefix").Value.String(), fs.Lookup("dump").Value.String() == "true")
}

// commandName maps the flag spellings people try first to their commands.
func commandName(arg string) string {
	switch arg {
	case "-h", "-help", "--help":
		return "help"
	case "-version", "--version":
		return "version"
	}
	return arg
}

// pluginServerFlags mirrors the flags go-pdk v0.11.2 defines on the global
// flag set (server/os.go), so that arguments Kong would never pass are refused
// before go-pdk parses them again; go-pdk's -help is answered by the help
// command instead. TestPluginServerFlagsMirrorGoPDK keeps the two in step.
func pluginServerFlags(output io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("modelgate", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.String("kong-prefix", "/usr/local/kong", "serve on `DIR`/modelgate.socket; DIR is Kong's prefix")
	fs.Bool("dump", false, "print the plugin's name, version, priority and config schema as JSON, and exit")
	return fs
}

// usageError reports a command line that names nothing modelgate does, with
// the usage page, and returns the status for it.
func usageError(msg string) int {
	fmt.Fprintf(os.Stderr, "modelgate: %s\n\n", msg)
	writeUsage(os.Stderr)
	return 2
}

// pluginServer runs the plugin server (pluginserver: Kong's protocol with
// buffered writes) on kongPrefix/modelgate.socket, or answers Kong's -dump
// query with go-pdk's, which reads os.Args itself. kongPrefix is Kong's
// prefix: a launched sidecar is shared there by the plugin servers of
// successive Kong generations (see core.SetKongPrefix).
func pluginServer(kongPrefix string, dump bool) int {
	setupLogging()
	setupDemoMode()
	core.SetKongPrefix(kongPrefix)
	// The declarative config's folder is unknown here; the working
	// directory is the one relative references resolve against (see
	// core.SetConfigFolder for why that is not Kong's prefix).
	if wd, err := os.Getwd(); err == nil {
		core.SetConfigFolder(wd)
	}
	if dump {
		if err := server.StartServer(kong.New, kong.Version, kong.Priority); err != nil {
			slog.Error("plugin info not dumped", "err", err)
			return 1
		}
		return 0
	}
	goruntime.Apply(true).Log(slog.Default())
	// Kong stops the plugin server with SIGTERM (SIGINT by hand): stop the
	// launched sidecar with it instead of leaving an orphan.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		s := <-sigs
		slog.Info("stopping", "signal", s.String())
		core.Shutdown()
		os.Exit(0)
	}()
	exe, err := os.Executable()
	if err != nil {
		slog.Error("cannot name the socket", "err", err)
		return 1
	}
	l, err := listenSocket(kongPrefix, filepath.Base(exe))
	if err != nil {
		slog.Error("plugin server not started", "err", err)
		return 1
	}
	if err := pluginserver.New(kong.New).Serve(l); err != nil {
		slog.Error("plugin server stopped", "err", err)
		core.Shutdown()
		return 1
	}
	core.Shutdown()
	return 0
}

// setupDemoMode turns demo mode on when MODELGATE_DEMO=1: the repository's
// public DEMO credentials (root kong.yml, deploy/keys) are accepted, as
// `make run` wants; otherwise a config holding them is refused.
func setupDemoMode() {
	if os.Getenv(config.DemoEnv) != "1" {
		return
	}
	core.SetDemoMode(true)
	slog.Warn("DEMO mode (" + config.DemoEnv + "=1): the repository's public DEMO API key and JWT issuer key are accepted; never on a network")
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
