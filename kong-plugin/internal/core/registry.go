package core

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/modelgate/modelgate/internal/pathbound"
	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/quota"
	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
	"github.com/modelgate/modelgate/kong-plugin/internal/trust"
)

// registry is the plugin server's one process-global state. Kong starts a
// new plugin instance for every config change, every worker and (in go-pdk)
// every 60 s of idleness, and all of them must share what outlives a
// request: the sidecar (one process, however many instances), quota
// counters (a quota must not reset when an instance restarts), compiled
// routing and the metrics. Each part is keyed by the content of the config
// section it comes from, so a routing change keeps the sidecar and the
// counters, and a quotas change keeps the sidecar (and, for a change of the
// tiers, the local counters: see sharedLimiter).
var registry = struct {
	// byConfig caches Get's answer per config object: Kong's plugin
	// instances keep their config for their lifetime, and hashing it on
	// every request would cost microseconds each. Bounded by byConfigSize.
	byConfig     sync.Map // *config.Config -> built
	byConfigSize atomic.Int64

	mu       sync.Mutex
	gateways map[string]*Gateway
	sidecars map[string]*supervisor
	limiters map[string]*quota.Limiter
	// stores holds, per quota.Config.StoreKey, the Limiter whose store the
	// other Limiters of that key share: Shutdown closes each store once.
	stores  map[string]*quota.Limiter
	servers map[string]*http.Server
	metrics *metrics
	// janitor is true while a goroutine retires superseded sidecars.
	janitor bool
	// demo accepts the repository's DEMO credentials (SetDemoMode).
	demo bool
	// kongPrefix, when set, makes launch mode share one sidecar per
	// config among the plugin servers of that prefix (SetKongPrefix).
	kongPrefix string
	// configFolder is the config's own folder (SetConfigFolder).
	configFolder string
}{
	gateways: map[string]*Gateway{},
	sidecars: map[string]*supervisor{},
	limiters: map[string]*quota.Limiter{},
	stores:   map[string]*quota.Limiter{},
	servers:  map[string]*http.Server{},
}

// maxConfigCache bounds the per-object cache: go-pdk makes a new config
// object for every plugin instance, and instances come and go.
const maxConfigCache = 4096

// Get returns the Gateway for cfg, building it on first use: the same
// config content always gives the same Gateway. cfg gets its defaults and
// is validated here; every problem is reported at once. The answer is
// cached per cfg object, so cfg must not change after the call (go-pdk
// never changes an instance's config).
//
// A refused config's error is cached the same way: a plugin instance with a
// bad config would otherwise validate it again, read its key files again
// and log again on every request.
func Get(cfg *config.Config) (*Gateway, error) {
	if v, ok := registry.byConfig.Load(cfg); ok {
		r := v.(built)
		return r.g, r.err
	}
	g, err := getByContent(cfg)
	if registry.byConfigSize.Add(1) > maxConfigCache {
		registry.byConfig.Clear()
		registry.byConfigSize.Store(1)
	}
	registry.byConfig.Store(cfg, built{g, err})
	return g, err
}

// SetDemoMode makes Get accept configs holding the repository's public
// DEMO credentials (config.CheckCredentials); the plugin server and
// `modelgate serve` call it once at start when MODELGATE_DEMO=1.
func SetDemoMode(on bool) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	registry.demo = on
}

// built is Get's answer for one config object.
type built struct {
	g   *Gateway
	err error
}

func getByContent(cfg *config.Config) (*Gateway, error) {
	c := cfg.WithDefaults()
	key := config.Key(c)
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if g, ok := registry.gateways[key]; ok {
		return g, nil
	}
	policy := trust.FromEnv().WithConfigFolder(registry.configFolder)
	if err := c.ValidateWith(policy); err != nil {
		return nil, err
	}
	if err := c.CheckCredentials(registry.demo, policy); err != nil {
		return nil, err
	}
	if registry.metrics == nil {
		registry.metrics = newMetrics()
	}
	g, err := build(c, registry.metrics, slog.Default(), policy.SecretFolders())
	if err != nil {
		return nil, err
	}
	if c.Quotas.Policy == "redis" && trust.FromEnv().RedisUnbounded() {
		slog.Warn("quotas.redis.addr is not bounded: the plugin config may send the Redis password to any address; list the allowed ones in "+trust.EnvRedis,
			"addr", c.Quotas.Redis.Addr)
	}
	serveMetrics(c.Metrics.Addr, registry.metrics)
	registry.gateways[key] = g
	return g, nil
}

// SetConfigFolder tells the registry the folder the config comes from,
// which its file: references, attach socket and --models may name besides
// the operator's folders (trust.Policy.WithConfigFolder). modelgate serve
// passes kong.yml's folder. The plugin server passes its working directory,
// since under Kong it cannot know the declarative config's path: Kong 3.9.3
// starts it from worker 0 with ngx.pipe.spawn("exec " .. start_command)
// (kong/runloop/plugin_servers/process.lua), which sets no directory, and
// nginx itself, started as `nginx -p PREFIX -c nginx.conf`
// (kong/cmd/utils/nginx_signals.lua) with no working_directory directive,
// keeps the one `kong start` ran in. So the working directory is the
// operator's choice (the image's WORKDIR, /opt/modelgate, which holds the
// root kong.yml), not Kong's prefix, and it is what relative references
// resolve against. "/" (a service manager's default) allows nothing.
// Call it before the first Get.
func SetConfigFolder(dir string) {
	registry.mu.Lock()
	registry.configFolder = dir
	registry.mu.Unlock()
}

// SetKongPrefix tells the registry that this process is a plugin server
// Kong started with -kong-prefix dir. A sidecar in launch mode is then
// shared by every plugin server of that prefix (see connector), so that
// `kong reload`, which runs the old and the new generation's plugin servers
// at once, never loads the models twice nor loses the sidecar. Call it
// before the first Get; `modelgate serve` and tests leave it unset and
// launch a sidecar of their own through go-plugin.
func SetKongPrefix(dir string) {
	registry.mu.Lock()
	registry.kongPrefix = dir
	registry.mu.Unlock()
}

// sharedSidecar returns the supervisor for a sidecar section, starting it
// on first use. Called with registry.mu held.
func sharedSidecar(c config.Sidecar, m *metrics, log *slog.Logger) *supervisor {
	key := config.Key(c)
	if s, ok := registry.sidecars[key]; ok {
		return s
	}
	startTimeout, _ := time.ParseDuration(c.StartTimeout)
	check, _ := time.ParseDuration(c.CheckInterval)
	backoff, _ := time.ParseDuration(c.MaxBackoff)
	policy := trust.FromEnv().WithConfigFolder(registry.configFolder)
	s := newSupervisor(connector(c, registry.kongPrefix, policy), startTimeout, check, backoff, m, log.With("sidecar_mode", c.Mode))
	registry.sidecars[key] = s
	if len(registry.sidecars) > 1 && !registry.janitor {
		registry.janitor = true
		go func() {
			for {
				time.Sleep(retireCheckInterval)
				if !retireSuperseded(time.Now(), retireAfterIdle) {
					return
				}
			}
		}()
	}
	return s
}

// A change of the sidecar section (its args, say) makes Kong's new plugin
// instances build a second sidecar while the old instances may still be
// finishing requests on the first. Once the old one has been idle this long,
// and another sidecar was used since, it is stopped: otherwise it would hold
// its process and its models (GPU memory too) until the plugin server exits.
const (
	retireAfterIdle     = 5 * time.Minute
	retireCheckInterval = time.Minute
)

// retireSuperseded stops every sidecar, but the most recently used one, that
// has been idle for longer than idle at now, and forgets the gateways built on
// it (a config that comes back builds them anew). It reports whether more than
// one sidecar is left, i.e. whether the janitor should keep watching.
func retireSuperseded(now time.Time, idle time.Duration) bool {
	registry.mu.Lock()
	var newest *supervisor
	for _, s := range registry.sidecars {
		if newest == nil || s.lastUsed.Load() > newest.lastUsed.Load() {
			newest = s
		}
	}
	var retired []*supervisor
	for k, s := range registry.sidecars {
		if s != newest && now.Sub(time.Unix(0, s.lastUsed.Load())) > idle {
			delete(registry.sidecars, k)
			retired = append(retired, s)
		}
	}
	for k, g := range registry.gateways {
		if slices.Contains(retired, g.sidecar) {
			delete(registry.gateways, k)
		}
	}
	registry.byConfig.Range(func(k, v any) bool {
		if g := v.(built).g; g != nil && slices.Contains(retired, g.sidecar) {
			registry.byConfig.Delete(k)
			registry.byConfigSize.Add(-1)
		}
		return true
	})
	more := len(registry.sidecars) > 1
	registry.janitor = more
	registry.mu.Unlock()
	for _, s := range retired {
		s.log.Info("sidecar: stopping it, a newer config replaced it", "idle", now.Sub(time.Unix(0, s.lastUsed.Load())).Round(time.Second))
		s.close()
	}
	return more
}

// sharedLimiter returns the Limiter for a quotas section. Sections that
// differ only in their tiers or fault_tolerant count in one store (the
// first Limiter built for that policy and Redis), so raising a tier's limit
// keeps every consumer's counts. Called with registry.mu held.
func sharedLimiter(c quota.Config, m *metrics, log *slog.Logger, folders pathbound.Folders) (*quota.Limiter, error) {
	key := c.Key()
	if l, ok := registry.limiters[key]; ok {
		return l, nil
	}
	hook := quota.WithErrorHook(func(error) { m.redisErrors.Inc() })
	var l *quota.Limiter
	var err error
	if first, ok := registry.stores[c.StoreKey()]; ok {
		l, err = first.Share(c, hook)
	} else {
		opts := []quota.Option{hook, quota.WithSecretWatch(secret.WatchOptions{Logger: log, Folders: folders})}
		if registry.kongPrefix != "" {
			// Shared with the other generation's plugin server during
			// `kong reload` (see quota.WithCounterFile).
			opts = append(opts, quota.WithCounterFile(filepath.Join(registry.kongPrefix, quota.CounterFileName)))
		}
		l, err = quota.New(c, opts...)
		if err == nil {
			registry.stores[c.StoreKey()] = l
		}
	}
	if err != nil {
		return nil, err
	}
	registry.limiters[key] = l
	return l, nil
}

// metricsRetryInterval is how often a plugin server whose metrics.addr is
// taken tries it again.
const metricsRetryInterval = time.Second

// serveMetrics starts /metrics on addr once per address. Called with
// registry.mu held.
//
// During `kong reload` two plugin servers run at once (Kong 3.9.3,
// kong/runloop/plugin_servers/process.lua: the new generation's worker 0
// spawns a new one; the old one gets SIGTERM only once its worker has
// drained), and the old one holds addr. So a taken addr is never a config
// error: the new server keeps trying in the background and takes the
// address over once the old one has exited. One listener at a time, never
// SO_REUSEPORT, so every scrape sees one process's coherent set of
// counters.
func serveMetrics(addr string, m *metrics) {
	if addr == "" {
		return
	}
	if _, ok := registry.servers[addr]; ok {
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	registry.servers[addr] = srv
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		go runMetrics(srv, ln, addr)
		return
	}
	slog.Warn("metrics.addr is taken (by the plugin server of the previous Kong generation?); retrying in the background",
		"addr", addr, "retry_every", metricsRetryInterval, "err", err)
	go retryMetrics(addr, srv)
}

// retryMetrics tries addr again every metricsRetryInterval until it takes
// it or srv is no longer wanted (Shutdown). The listen happens outside
// registry.mu, which every new config's build takes: only the look at
// whether srv is still wanted and the hand-over to runMetrics happen under
// it, so Shutdown either sees the running server or this closes the listener.
func retryMetrics(addr string, srv *http.Server) {
	for {
		time.Sleep(metricsRetryInterval)
		if !metricsWanted(addr, srv) {
			return
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		registry.mu.Lock()
		wanted := registry.servers[addr] == srv
		if wanted {
			go runMetrics(srv, ln, addr)
		}
		registry.mu.Unlock()
		if !wanted {
			ln.Close()
			return
		}
		slog.Info("metrics: listening", "addr", addr)
		return
	}
}

func metricsWanted(addr string, srv *http.Server) bool {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	return registry.servers[addr] == srv
}

func runMetrics(srv *http.Server, ln net.Listener, addr string) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		slog.Error("metrics server stopped", "addr", addr, "err", err)
	}
}

// Shutdown stops every sidecar the process launched as its child (a shared
// or attached one is only disconnected: a shared sidecar leaves on its own
// once its last plugin server has gone), closes the quota stores and the
// metrics servers. The plugin server calls it when Kong stops it.
func Shutdown() {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	var wg sync.WaitGroup
	for k, s := range registry.sidecars {
		wg.Add(1)
		go func() { defer wg.Done(); s.close() }()
		delete(registry.sidecars, k)
	}
	wg.Wait()
	for k, l := range registry.stores {
		_ = l.Close()
		delete(registry.stores, k)
	}
	clear(registry.limiters)
	for k, srv := range registry.servers {
		_ = srv.Close()
		delete(registry.servers, k)
	}
	for k := range registry.gateways {
		delete(registry.gateways, k)
	}
	registry.byConfig.Clear()
	registry.byConfigSize.Store(0)
}
