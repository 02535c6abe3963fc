// Package batchstub is an interim stand-in with the API promised for
// sidecar/internal/batch: it runs each request alone on a free runner. It
// goes away when the real batcher lands.
package batchstub

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelgate/modelgate/shared/tensor"
)

// Runner runs one batch.
type Runner interface {
	Run(ctx context.Context, inputs []tensor.Tensor, outputs []string) ([]tensor.Tensor, error)
}

// Config mirrors batch.Config.
type Config struct {
	MaxBatchSize        int
	Enabled             bool
	MaxQueueDelay       time.Duration
	PreferredBatchSizes []int
	MaxQueueSize        int
	DefaultTimeout      time.Duration
	PadValues           map[string]float64
}

// Observer mirrors batch.Observer.
type Observer interface {
	Observe(batchSize int, queueWait, compute time.Duration)
}

// Errors mirror batch's.
var (
	ErrQueueFull = errors.New("batch: queue full")
	ErrClosed    = errors.New("batch: closed")
)

// Batcher hands each request to a free runner.
type Batcher struct {
	cfg     Config
	free    chan Runner
	obs     Observer
	waiting atomic.Int64
	mu      sync.RWMutex
	closed  bool
	wg      sync.WaitGroup
}

// New returns a batcher over runners.
func New(cfg Config, runners []Runner, obs Observer) *Batcher {
	b := &Batcher{cfg: cfg, free: make(chan Runner, len(runners)), obs: obs}
	for _, r := range runners {
		b.free <- r
	}
	return b
}

// Infer runs one request.
func (b *Batcher) Infer(ctx context.Context, inputs []tensor.Tensor, outputs []string) ([]tensor.Tensor, error) {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, ErrClosed
	}
	b.wg.Add(1)
	b.mu.RUnlock()
	defer b.wg.Done()
	if _, ok := ctx.Deadline(); !ok && b.cfg.DefaultTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.cfg.DefaultTimeout)
		defer cancel()
	}
	if b.cfg.MaxQueueSize > 0 && b.waiting.Add(1) > int64(b.cfg.MaxQueueSize) {
		b.waiting.Add(-1)
		return nil, ErrQueueFull
	}
	start := time.Now()
	var r Runner
	select {
	case r = <-b.free:
		b.waiting.Add(-1)
	case <-ctx.Done():
		b.waiting.Add(-1)
		return nil, ctx.Err()
	}
	defer func() { b.free <- r }()
	wait := time.Since(start)
	out, err := r.Run(ctx, inputs, outputs)
	n := 1
	if len(inputs) > 0 && len(inputs[0].Shape) > 0 && b.cfg.MaxBatchSize > 0 {
		n = int(inputs[0].Shape[0])
	}
	if b.obs != nil {
		b.obs.Observe(n, wait, time.Since(start)-wait)
	}
	return out, err
}

// Close refuses new requests and waits for those in flight.
func (b *Batcher) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
