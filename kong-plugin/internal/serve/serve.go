// Package serve is `modelgate serve`: a standalone HTTP front-end that reads
// the same kong.yml Kong would load (routes, the modelgate plugin config,
// consumers) and answers those routes with the same core as the Kong adapter
// (core.Get, then Handle), launching the sidecar. It is for laptops, CI and
// demos; Kong stays the production path.
package serve

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/modelgate/modelgate/internal/goruntime"
	"github.com/modelgate/modelgate/kong-plugin/internal/apis"
	"github.com/modelgate/modelgate/kong-plugin/internal/core"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// shutdownGrace bounds how long in-flight requests may finish after SIGINT or SIGTERM.
const shutdownGrace = 15 * time.Second

// Options are serve's command-line settings.
type Options struct {
	Config         string
	Listen         string
	ReadyTimeout   time.Duration
	BodyTimeout    time.Duration
	MaxConnections int
	CPUProfile     string
	AccessLog      string
}

// FlagSet is serve's flags, bound to o: Main parses them, and `modelgate
// serve --help` prints them.
func FlagSet(o *Options) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Config, "config", "kong.yml", "the Kong declarative config `FILE`")
	fs.StringVar(&o.Listen, "listen", ":8000", "listen on `ADDR`, host:port, like Kong's proxy port")
	fs.DurationVar(&o.ReadyTimeout, "ready-timeout", 3*time.Minute, "wait this long (`DURATION`: 90s, 5m) for the sidecar's models")
	fs.DurationVar(&o.BodyTimeout, "client-body-timeout", 60*time.Second, "longest wait (`DURATION`) for the next bytes of a request body, then 408 (nginx's client_body_timeout)")
	fs.IntVar(&o.MaxConnections, "max-connections", 4096, "most client connections open at once (`N`); more wait to be accepted (nginx's worker_connections)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a Go CPU profile of the process to `FILE` until shutdown")
	fs.StringVar(&o.AccessLog, "access-log", "", "append one JSON line per request to `FILE` (- for stdout): consumer, model, version, status, items, latency_ms, privacy findings per kind; never the data")
	return fs
}

// Main runs `modelgate serve --config kong.yml [--listen :8000]` until ctx
// ends or the process gets SIGINT or SIGTERM. It refuses to start, listing
// every problem with its line and column, when the file has unknown keys, bad
// references, a missing model repository or an unreadable key file. Once the
// file is read it sets the process's Go runtime defaults (goruntime.Apply:
// half the cores when serve launches its sidecar), as the command's body.
func Main(ctx context.Context, args []string) error {
	var o Options
	fs := FlagSet(&o)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("modelgate serve: %w (see modelgate serve --help)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("modelgate serve: unexpected arguments %q", fs.Args())
	}
	if o.BodyTimeout <= 0 || o.MaxConnections <= 0 {
		return errors.New("modelgate serve: --client-body-timeout and --max-connections must be positive")
	}
	if o.CPUProfile != "" {
		stopProfile, err := startCPUProfile(o.CPUProfile)
		if err != nil {
			return err
		}
		// Deferred first, so it runs last: the profile covers the shutdown
		// too, and is complete once Main returns.
		defer stopProfile()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.Default().With("component", "serve")

	log.Info("reading config", "file", o.Config)
	f, plugins, err := load(o.Config)
	if err != nil {
		return err
	}
	goruntime.Apply(launchesSidecar(plugins)).Log(log)
	defer core.Shutdown()
	core.SetConfigFolder(filepath.Dir(o.Config))
	rt, err := provision(o.Config, f, plugins, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("modelgate serve: %w", err)
	}
	ln = newLimitListener(ln, o.MaxConnections)
	var h http.Handler = handler{router: rt, bodyTimeout: o.BodyTimeout}
	if o.AccessLog != "" {
		alog, closer, err := openAccessLog(o.AccessLog)
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer closer.Close()
		h = alog.wrap(h)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Kong's nginx refuses a request whose header block outgrows its
		// large_client_header_buffers (4 x 8k by default); refuse the same
		// size (431) rather than Go's 1 MiB, so serve answers as Kong would.
		MaxHeaderBytes: 32 << 10,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	log.Info("loading models")
	if err := waitReady(ctx, plugins, o.ReadyTimeout); err != nil {
		_ = srv.Close()
		return err
	}
	log.Info("ready on "+ln.Addr().String(), "addr", ln.Addr().String(), "routes", len(rt.routes))

	select {
	case err := <-served:
		return fmt.Errorf("modelgate serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight", "grace", shutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	log.Info("stopped")
	return nil
}

// provision builds each plugin's gateway (launching the sidecar) and gives
// every route the plugin that applies to it, with Kong's precedence: a
// route's own plugin, else its service's, else the global one.
func provision(file string, f *kongFile, plugins []plugin, log *slog.Logger) (router, error) {
	p := &problems{file: file}
	byScope := map[[2]string]*plugin{}
	for i := range plugins {
		pl := &plugins[i]
		if pl.cfg.Sidecar.Mode == "launch" {
			log.Info("starting sidecar", "command", pl.cfg.Sidecar.Command, "args", strings.Join(pl.cfg.Sidecar.Args, " "))
		}
		g, err := core.Get(pl.cfg)
		if err != nil {
			placeErrors(p, pl.entry.node, pl.entry.path, err)
			continue
		}
		pl.gateway = g
		byScope[[2]string{pl.entry.route, pl.entry.service}] = pl
	}
	if err := p.err(); err != nil {
		return router{}, err
	}
	for _, r := range f.routes {
		scopes := [][2]string{{r.name, ""}}
		if r.service != "" {
			scopes = append(scopes, [2]string{"", r.service})
		}
		for _, scope := range append(scopes, [2]string{"", ""}) {
			if pl, ok := byScope[scope]; ok {
				r.gateway = pl.gateway
				break
			}
		}
	}
	return router{routes: f.routes}, nil
}

// waitReady waits until every plugin's sidecar answers ready, as Kong's
// users would check with GET /v2/health/ready.
func waitReady(ctx context.Context, plugins []plugin, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, pl := range plugins {
		for {
			res := pl.gateway.Handle(ctx, apis.Router, protocol.Request{Method: http.MethodGet, Path: "/v2/health/ready", Header: http.Header{}})
			if res.Status == http.StatusOK {
				break
			}
			select {
			case <-ctx.Done():
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return fmt.Errorf("modelgate serve: the sidecar was not ready after %s (last answer %d %s)", timeout, res.Status, strings.TrimSpace(string(res.Body)))
				}
				return fmt.Errorf("modelgate serve: stopped while loading models: %w", ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// startCPUProfile writes a CPU profile (go tool pprof's format) to path until
// the returned stop is called; the bench profiles the serve hot path with it.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("modelgate serve: --cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("modelgate serve: --cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			slog.Error("closing the CPU profile", "file", path, "err", err)
		}
	}, nil
}

// launchesSidecar reports whether a plugin launches its sidecar, which then
// shares serve's cores.
func launchesSidecar(plugins []plugin) bool {
	for _, p := range plugins {
		if p.cfg.Sidecar.Mode == "launch" {
			return true
		}
	}
	return false
}
