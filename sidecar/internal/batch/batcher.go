// Package batch is the dynamic batcher in front of one model version:
// requests queue, a free runner (one per instance of the version) takes as
// many as fit into one batch, runs them as one, and splits the outputs back.
//
// Each runner has one worker goroutine; a request costs its caller's
// goroutine and nothing else. Queueing is a non-blocking channel send, so a
// full queue answers at once.
package batch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/modelgate/modelgate/shared/tensor"
)

// Runner runs a model on a batch; an *ort.Session is one.
type Runner interface {
	Run(ctx context.Context, inputs []tensor.Tensor, outputs []string) ([]tensor.Tensor, error)
}

// Observer is told about every batch run, for metrics. Observe must be quick
// and safe for concurrent use.
type Observer interface {
	// Observe reports a batch of batchSize items (the requests' own: rows
	// added by PadToPreferred are not counted), how long its oldest request
	// waited in the queue, and how long the run took.
	Observe(batchSize int, queueWait, compute time.Duration)
}

// Config is a model version's batching configuration.
type Config struct {
	// MaxBatchSize is the most items (summed along dim 0) a batch holds;
	// 0 means the model has no batch dimension: requests run one by one, as
	// they are.
	MaxBatchSize int
	// Enabled turns merging on; off, each request runs alone (still queued,
	// still bounded by MaxQueueSize).
	Enabled bool
	// MaxQueueDelay is how long the oldest queued request may wait for more
	// to join it while no preferred batch size can be formed.
	MaxQueueDelay time.Duration
	// PreferredBatchSizes are batch sizes to send at once when the queue can
	// make one (the largest it can), without waiting for MaxQueueDelay.
	PreferredBatchSizes []int
	// MaxQueueSize is how many requests may wait; <= 0 means DefaultMaxQueueSize.
	MaxQueueSize int
	// DefaultTimeout bounds a request whose context has no deadline; 0 = none.
	DefaultTimeout time.Duration
	// PadValues lets requests whose non-batch dims differ share a batch: the
	// named inputs are padded with the value up to the batch's longest along
	// each dim. Outputs are only split along the batch dim, so this suits
	// models whose outputs do not have the padded dims (a [batch, seq]
	// classifier), and only models whose answers padding does not change.
	PadValues map[string]float64
	// PadToPreferred pads every merged batch (a lone batchable request
	// included) up to the smallest preferred batch size that holds it, with
	// zero rows along the batch dim (empty strings for BYTES), and drops the
	// padded rows from the outputs. Batches larger than every preferred size
	// run as they are. On a GPU each batch size is an input shape that
	// cuDNN's algorithm search and CUDA kernel selection pay for on first
	// sight; the warm-up runs every preferred size, so with buckets no
	// request pays for that. Requests that run solo (merging off, or no
	// items) are never padded.
	PadToPreferred bool
	// MaxPaddedElements bounds the element count of one padded input of a
	// merged batch (<= 0: DefaultMaxPaddedElements); a request that would
	// pad past it runs in a later batch.
	MaxPaddedElements int64
}

// DefaultMaxQueueSize is the queue bound when Config.MaxQueueSize is unset.
const DefaultMaxQueueSize = 1024

// Errors Infer returns besides its context's; the server maps them to
// RESOURCE_EXHAUSTED, UNAVAILABLE and INVALID_ARGUMENT.
var (
	ErrQueueFull    = errors.New("batch: queue full")
	ErrClosed       = errors.New("batch: closed")
	ErrInvalidInput = errors.New("batch: invalid input")
)

// Batcher queues requests for one model version and runs them on its runners.
type Batcher struct {
	cfg       Config
	merging   bool
	preferred []int // ascending, each in 1..MaxBatchSize
	maxItems  int   // MaxBatchSize, or 0 when there is no batch dim
	obs       Observer

	// mu guards closed against Infer's send racing Close: Infer holds it
	// shared (an atomic add), Close exclusively, once.
	mu     sync.RWMutex
	closed bool
	queue  chan *request
	stop   chan struct{}

	// forming lets one free worker at a time form a batch, so two idle
	// runners do not split the queue into two half batches.
	forming sync.Mutex
	held    []*request // taken from the queue but not yet batched; guarded by forming

	workers sync.WaitGroup
	done    chan struct{}
}

// New starts a batcher with one worker per runner (at least one runner).
func New(cfg Config, runners []Runner, obs Observer) *Batcher {
	if len(runners) == 0 {
		panic("batch.New: no runners")
	}
	size := cfg.MaxQueueSize
	if size <= 0 {
		size = DefaultMaxQueueSize
	}
	b := &Batcher{
		cfg:      cfg,
		merging:  cfg.Enabled && cfg.MaxBatchSize > 1,
		maxItems: max(cfg.MaxBatchSize, 0),
		obs:      obs,
		queue:    make(chan *request, size),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	b.preferred = preferredSizes(cfg.PreferredBatchSizes, cfg.MaxBatchSize)
	for _, r := range runners {
		b.workers.Add(1)
		go b.work(r)
	}
	go func() {
		b.workers.Wait()
		close(b.done)
	}()
	return b
}

// Infer queues one request and waits for its outputs (all of the model's
// when outputs is empty). It fails at once with ErrQueueFull when the queue
// is full and ErrClosed after Close; when ctx ends first it returns ctx's
// error at once (a request still queued is then dropped before it runs).
// Infer may read inputs until the batch holding them has run, even after
// returning ctx's error: don't modify them.
func (b *Batcher) Infer(ctx context.Context, inputs []tensor.Tensor, outputs []string) ([]tensor.Tensor, error) {
	if b.cfg.DefaultTimeout > 0 {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, b.cfg.DefaultTimeout)
			defer cancel()
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := b.newRequest(ctx, inputs, outputs)
	if err != nil {
		return nil, err
	}
	if err := b.enqueue(r); err != nil {
		return nil, err
	}
	select {
	case res := <-r.done:
		return res.outputs, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *Batcher) enqueue(r *request) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	select {
	case b.queue <- r:
		return nil
	default:
		return fmt.Errorf("%w (%d requests waiting)", ErrQueueFull, cap(b.queue))
	}
}

// Close stops taking requests (Infer answers ErrClosed), lets the queued and
// running ones finish, and returns when they have, or with ctx's error if ctx
// ends first (the work then still finishes in the background). It does not
// close the runners.
func (b *Batcher) Close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.stop)
	}
	b.mu.Unlock()
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("batch: close: %w", ctx.Err())
	}
}

// work is one runner's loop: form a batch, run it, repeat until closed and
// drained.
func (b *Batcher) work(runner Runner) {
	defer b.workers.Done()
	for {
		batch, ok := b.form()
		if !ok {
			return
		}
		b.run(runner, batch)
	}
}
