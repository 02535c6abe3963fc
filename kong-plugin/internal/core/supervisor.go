package core

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelgate/modelgate/shared/pb"
)

// sidecarConn is one live connection to the sidecar: a launched child or an
// attached socket.
type sidecarConn interface {
	Inference() pb.InferenceClient
	// Exited reports whether a launched sidecar process has ended (always
	// false when attached: the ping notices a dead socket).
	Exited() bool
	Close()
}

// connectFunc launches or attaches to the sidecar once.
type connectFunc func(ctx context.Context) (sidecarConn, error)

// errSidecarDown is answered at once, as 503 + Retry-After, while the
// supervisor has no live sidecar: a request never waits for a restart.
var errSidecarDown = errors.New("sidecar is not connected")

// errSidecarStarting is answered, as 503 + Retry-After, to a request whose
// deadline passed while the sidecar was starting for the first time.
var errSidecarStarting = errors.New("sidecar is still starting")

// pingFailuresToRestart: a sidecar busy with a large batch may miss one
// ping; only repeated misses (or a dead process) count as a crash.
const pingFailuresToRestart = 3

// supervisor keeps one sidecar connection alive: it (re)launches or
// (re)attaches with exponential backoff, watches the process (Exited) and
// pings (ServerLive), and hands out the current client. Only the first
// start makes a request wait (see client).
type supervisor struct {
	connect       connectFunc
	startTimeout  time.Duration
	checkInterval time.Duration
	maxBackoff    time.Duration
	metrics       *metrics
	log           *slog.Logger

	mu      sync.RWMutex
	conn    sidecarConn
	lastErr error

	// started is closed once the first launch or attach attempt has ended,
	// connected or not; firstStartEnded closes it once.
	started         chan struct{}
	firstStartEnded func()
	// waiting counts the requests waiting for the first start.
	waiting atomic.Int64

	// lastUsed (unix nanoseconds) lets the registry retire a sidecar that a
	// newer config has replaced.
	lastUsed atomic.Int64

	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

func newSupervisor(connect connectFunc, startTimeout, checkInterval, maxBackoff time.Duration, m *metrics, log *slog.Logger) *supervisor {
	ctx, cancel := context.WithCancel(context.Background())
	s := &supervisor{
		connect:       connect,
		startTimeout:  startTimeout,
		checkInterval: checkInterval,
		maxBackoff:    maxBackoff,
		metrics:       m,
		log:           log,
		lastErr:       errSidecarDown,
		kick:          make(chan struct{}, 1),
		cancel:        cancel,
		done:          make(chan struct{}),
		started:       make(chan struct{}),
	}
	s.firstStartEnded = sync.OnceFunc(func() { close(s.started) })
	s.lastUsed.Store(time.Now().UnixNano())
	go s.run(ctx)
	return s
}

// client returns the live sidecar client, or an error at once when there is
// none. The exception is the sidecar's first start: Kong starts a plugin
// instance, and so the sidecar, on the first request that needs it, and a
// launched sidecar loads its models before it answers; requests that
// arrive meanwhile wait for that start, up to their deadline (ctx). Once it
// has ended, connected or failed, nothing waits again: a sidecar that
// crashed is answered 503 + Retry-After at once while it restarts.
func (s *supervisor) client(ctx context.Context) (pb.InferenceClient, error) {
	s.lastUsed.Store(time.Now().UnixNano())
	select {
	case <-s.started:
	default:
		s.waiting.Add(1)
		select {
		case <-s.started:
			s.waiting.Add(-1)
		case <-ctx.Done():
			s.waiting.Add(-1)
			return nil, errors.Join(errSidecarStarting, ctx.Err())
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.conn == nil {
		return nil, s.lastErr
	}
	return s.conn.Inference(), nil
}

// suspect asks for an immediate health check, e.g. after an UNAVAILABLE answer.
func (s *supervisor) suspect() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// close stops supervising and closes (in launch mode: kills) the sidecar.
func (s *supervisor) close() {
	s.cancel()
	<-s.done
}

func (s *supervisor) run(ctx context.Context) {
	defer close(s.done)
	defer s.firstStartEnded() // stopped before the first attempt ended
	backoff := 50 * time.Millisecond
	for attempt := 0; ctx.Err() == nil; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, s.startTimeout)
		conn, err := s.connect(cctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("sidecar: connecting failed", "err", err, "retry_in", backoff)
			s.setDown(err)
			s.firstStartEnded()
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, s.maxBackoff)
			continue
		}
		if attempt > 0 {
			s.metrics.sidecarRestarts.Inc()
		}
		s.log.Info("sidecar: connected")
		s.mu.Lock()
		s.conn, s.lastErr = conn, nil
		s.mu.Unlock()
		s.metrics.sidecarUp.Set(1)
		s.firstStartEnded()
		backoff = 50 * time.Millisecond

		why := s.watch(ctx, conn)
		s.setDown(why)
		conn.Close()
		if ctx.Err() != nil {
			return
		}
		s.log.Error("sidecar: lost, reconnecting", "err", why)
	}
}

// watch returns when conn is dead (or ctx is done), with the reason.
func (s *supervisor) watch(ctx context.Context, conn sidecarConn) error {
	t := time.NewTicker(s.checkInterval)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-s.kick:
		}
		if conn.Exited() {
			return errors.New("sidecar process exited")
		}
		pctx, cancel := context.WithTimeout(ctx, max(s.checkInterval, time.Second))
		_, err := conn.Inference().ServerLive(pctx, &pb.ServerLiveRequest{})
		cancel()
		if err == nil {
			failures = 0
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		failures++
		if conn.Exited() || failures >= pingFailuresToRestart {
			return err
		}
	}
}

func (s *supervisor) setDown(err error) {
	s.mu.Lock()
	s.conn = nil
	s.lastErr = errors.Join(errSidecarDown, err)
	s.mu.Unlock()
	s.metrics.sidecarUp.Set(0)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
