// Package core is where modelgate decides, free of Kong types and of wire
// formats: it authenticates, authorizes, takes quota, picks the model
// version, calls the sidecar once over gRPC and shadows a sample. A
// protocol.Request comes in, a Router (the wire protocols a front-end
// serves) gives its path to the protocol that owns it, and that protocol
// decodes into the core and encodes from it (protocol.Exchange). The Kong
// adapter, the standalone `modelgate serve` and the tests all drive it the
// same way. It also supervises the sidecar and holds the process-global
// registry that outlives Kong's plugin instances (registry.go).
package core

import (
	"context"
	"github.com/modelgate/modelgate/internal/pathbound"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/privacy"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/kong-plugin/internal/quota"
	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
	"github.com/modelgate/modelgate/shared/pb"
)

// Gateway serves one plugin config. It is immutable after Get and safe for
// concurrent use by every plugin instance with that config.
type Gateway struct {
	cfg          config.Config
	routing      *routing
	consumers    consumerLabels
	auth         *auth.Authenticator // nil: no credentials configured, the gateway is open
	limiter      *quota.Limiter      // nil: no tiers configured
	privacy      *privacy.Policy     // nil: no privacy section
	sidecar      *supervisor
	metrics      *metrics
	meta         *metaCache
	log          *slog.Logger
	timeout      time.Duration
	maxTimeout   time.Duration
	maxBody      int
	maxElements  int64
	shadowSlots  chan struct{}
	shadowRandMu sync.Mutex
	shadowRand   *rand.Rand
}

// maxShadowInFlight bounds shadow calls: when the shadow version is slow,
// samples are dropped rather than piled up behind the client's traffic.
const maxShadowInFlight = 16

// build provisions a validated config; its file: secrets are read (and
// re-read) in folders only. Called with registry.mu held.
func build(c config.Config, m *metrics, log *slog.Logger, folders pathbound.Folders) (*Gateway, error) {
	g := &Gateway{
		cfg:         c,
		routing:     compileRouting(c.Models),
		metrics:     m,
		log:         log,
		maxBody:     c.Limits.MaxBodyBytes,
		maxElements: int64(c.Limits.MaxElements),
		shadowSlots: make(chan struct{}, maxShadowInFlight),
		shadowRand:  rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	g.routing.denyUnlisted = c.DeniesUnlisted()
	g.consumers = compileConsumerLabels(c.Auth)
	g.timeout, _ = time.ParseDuration(c.Limits.DefaultTimeout)
	g.maxTimeout, _ = time.ParseDuration(c.Limits.MaxTimeout)
	if c.AuthEnabled() {
		a, err := auth.New(c.Auth, auth.WithSecretWatch(secret.WatchOptions{Logger: log, Folders: folders}))
		if err != nil {
			return nil, err
		}
		g.auth = a
	}
	if len(c.Quotas.Tiers) > 0 {
		l, err := sharedLimiter(c.Quotas, m, log, folders)
		if err != nil {
			return nil, err
		}
		g.limiter = l
	}
	if c.Privacy.Enabled() {
		p, err := privacy.New(c.Privacy, secret.WatchOptions{Logger: log, Folders: folders})
		if err != nil {
			return nil, err
		}
		g.privacy = p
	}
	g.sidecar = sharedSidecar(c.Sidecar, m, log)
	g.meta = newMetaCache()
	return g, nil
}

// KongConsumer reports whether the adapter should tell Kong who the
// consumer is (auth.kong_consumer).
func (g *Gateway) KongConsumer() bool { return g.cfg.Auth.KongConsumer }

// Audits reports whether the adapter should add each request's audit
// record (Response.Audit) to Kong's log serializer: with `audit: true` or
// a privacy section, as it costs one more PDK round trip.
func (g *Gateway) Audits() bool { return g.cfg.Audits() }

// UsesClientIP reports whether protocol.Request.ClientIP can change an answer: only
// in an open gateway (no credentials) with a traffic split, where it makes
// an anonymous client's arm sticky. The Kong adapter asks Kong for the IP
// (one more PDK round trip) only then.
func (g *Gateway) UsesClientIP() bool {
	if g.auth != nil {
		return false
	}
	for _, m := range g.cfg.Models {
		if len(m.Split) > 0 {
			return true
		}
	}
	return false
}

// MaxBodyBytes is the configured body limit, for adapters that can refuse
// a large body before reading it.
func (g *Gateway) MaxBodyBytes() int { return g.maxBody }

// MaxTimeout is limits.max_timeout, the longest deadline a request can
// have, for adapters that bound how long they write an answer.
func (g *Gateway) MaxTimeout() time.Duration { return g.maxTimeout }

// call runs one sidecar RPC with the latency metric.
func (g *Gateway) call(ctx context.Context, method string, fn func(pb.InferenceClient) error) error {
	c, err := g.sidecar.client(ctx)
	if err != nil {
		e := protocol.Wrap(protocol.KindUnavailable, "the inference server is unavailable, retry later", err)
		e.Header = protocol.RetryAfter(1)
		return e
	}
	start := time.Now()
	err = fn(c)
	g.metrics.sidecarLatency.WithLabelValues(method, grpcCode(err)).Observe(time.Since(start).Seconds())
	if err != nil && isUnavailable(err) {
		g.sidecar.suspect()
	}
	return err
}
