// Package batch is the dynamic batcher in front of one model version:
// requests queue, a free runner (one per instance of the version) takes as
// many as fit into one batch, runs them as one, and splits the outputs back.
//
// A request that finds a runner idle and nobody queued ahead of it runs on
// its caller's goroutine, at once: on a small machine every goroutine
// handoff (a park and a wake-up) costs tens of µs, as much as a small
// model's run. Requests queue only while every runner is busy (or while
// max_queue_delay asks them to wait for company); the runner that finishes
// first takes the queue, forming batches from it on a goroutine of its own
// until the queue is empty. A full queue answers at once.
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
	maxQueue  int
	obs       Observer

	// mu guards the queue and who holds which runner.
	mu     sync.Mutex
	closed bool
	queue  queue
	idle   []Runner // runners no one holds
	busy   int      // runners held: by a caller running its request, or by a drainer
	// forming is set while a drainer forms a batch, so that an idle runner
	// is not sent after the same requests: two formers would split the
	// queue into two half batches.
	forming bool

	// arrived wakes a former waiting out MaxQueueDelay when a request joins
	// the queue (a stale signal only makes it look again).
	arrived chan struct{}
	stop    chan struct{} // closed by Close
	done    chan struct{} // closed once closed, with nothing queued or running
}

// New returns a batcher over runners (at least one), all idle.
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
		maxQueue: size,
		obs:      obs,
		idle:     append([]Runner(nil), runners...),
		arrived:  make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	b.preferred = preferredSizes(cfg.PreferredBatchSizes, cfg.MaxBatchSize)
	return b
}

// Infer runs one request and returns its outputs (all of the model's when
// outputs is empty): at once on the calling goroutine when a runner is idle
// and nothing is queued, else through the queue. It fails at once with
// ErrQueueFull when the queue is full and ErrClosed after Close; when ctx
// ends first it returns ctx's error (a request still queued is then dropped
// before it runs; a run in progress is stopped). Infer may read inputs until
// the batch holding them has run, even after returning ctx's error: don't
// modify them.
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
	runner, err := b.admit(r)
	if err != nil {
		return nil, err
	}
	if runner != nil {
		b.runInline(runner, r)
		return r.res.outputs, r.res.err
	}
	select {
	case res := <-r.done:
		return res.outputs, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
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
		b.doneIfIdleLocked()
	}
	b.mu.Unlock()
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("batch: close: %w", ctx.Err())
	}
}
