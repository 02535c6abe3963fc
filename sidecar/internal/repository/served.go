package repository

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/modelgate/modelgate/shared/tensor"
	"github.com/modelgate/modelgate/sidecar/internal/batch"
	"github.com/modelgate/modelgate/sidecar/internal/config"
	"github.com/modelgate/modelgate/sidecar/internal/ort"
	"github.com/modelgate/modelgate/sidecar/internal/textproc"
)

// Served is one loaded model version: its sessions behind a batcher, the
// text processing around them and the shapes it serves. The repository hands
// it out with Acquire; it is never closed while a request holds it.
type Served struct {
	// Model and Version name it.
	Model, Version string
	// MaxBatchSize is config.yaml's: > 0 means every tensor's first dim is the batch.
	MaxBatchSize int
	// Inputs and Outputs are the public tensors (text instead of token ids,
	// probabilities and label added by a classifier).
	Inputs, Outputs []TensorSpec
	// Labels are the classifier's class names, if it has one.
	Labels []string
	// Provider is the execution provider the sessions got (cpu, cuda, tensorrt).
	Provider string

	spec       *spec
	tokenizer  *textproc.Tokenizer
	classifier *textproc.Classifier
	batcher    *batch.Batcher
	sessions   []*ort.Session
	log        *slog.Logger

	// inflight counts requests between Acquire and release. The repository
	// only adds while the version is reachable (under its lock), so Wait
	// after unpublishing sees every request through.
	inflight sync.WaitGroup
}

// TextInput is the input the tokenizer reads ("" when there is none).
func (s *Served) TextInput() string {
	if s.tokenizer == nil {
		return ""
	}
	return s.tokenizer.Input
}

// Input returns the public input named name.
func (s *Served) Input(name string) (TensorSpec, bool) { return find(s.Inputs, name) }

// Output returns the public output named name.
func (s *Served) Output(name string) (TensorSpec, bool) { return find(s.Outputs, name) }

func find(specs []TensorSpec, name string) (TensorSpec, bool) {
	i := slices.IndexFunc(specs, func(t TensorSpec) bool { return t.Name == name })
	if i < 0 {
		return TensorSpec{}, false
	}
	return specs[i], true
}

// named returns the tensor called name.
func named(ts []tensor.Tensor, name string) (tensor.Tensor, bool) {
	i := slices.IndexFunc(ts, func(t tensor.Tensor) bool { return t.Name == name })
	if i < 0 {
		return tensor.Tensor{}, false
	}
	return ts[i], true
}

// Infer runs validated public inputs through pre-processing, the batcher and
// post-processing, and returns the outputs named (all when none are).
// Errors from the batcher (batch.ErrQueueFull, batch.ErrClosed, context
// errors) are returned wrapped.
func (s *Served) Infer(ctx context.Context, inputs []tensor.Tensor, outputs []string) ([]tensor.Tensor, error) {
	if len(outputs) == 0 {
		outputs = make([]string, len(s.Outputs))
		for i, o := range s.Outputs {
			outputs[i] = o.Name
		}
	}
	modelInputs, err := s.preprocess(inputs)
	if err != nil {
		return nil, err
	}
	var run []string
	needScores := false
	for _, name := range outputs {
		if s.classifier != nil && (name == textproc.ProbabilitiesOutput || name == textproc.LabelOutput) {
			needScores = true
			continue
		}
		if !slices.Contains(run, name) {
			run = append(run, name)
		}
	}
	if needScores && !slices.Contains(run, s.classifier.Output) {
		run = append(run, s.classifier.Output)
	}
	results, err := s.batcher.Infer(ctx, modelInputs, run)
	if err != nil {
		return nil, err
	}
	// A model has a handful of outputs: a scan costs less than a map.
	var added []tensor.Tensor
	if needScores {
		scores, ok := named(results, s.classifier.Output)
		if !ok {
			return nil, fmt.Errorf("the batcher returned no %q output", s.classifier.Output)
		}
		probs, labels, err := s.classifier.Apply(scores)
		if err != nil {
			return nil, err
		}
		// Not appended to results: its spare capacity may be another
		// request's share of the batch.
		added = []tensor.Tensor{probs, labels}
	}
	out := make([]tensor.Tensor, 0, len(outputs))
	for _, name := range outputs {
		t, ok := named(added, name) // post-processing wins, as it names its outputs
		if !ok {
			t, ok = named(results, name)
		}
		if !ok {
			return nil, fmt.Errorf("the batcher returned no %q output", name)
		}
		out = append(out, t)
	}
	return out, nil
}

// preprocess tokenizes the text input and orders inputs as the model declares them.
func (s *Served) preprocess(inputs []tensor.Tensor) ([]tensor.Tensor, error) {
	var tokens tensor.Tensor
	if s.tokenizer != nil {
		text, ok := named(inputs, s.tokenizer.Input)
		if !ok {
			return nil, fmt.Errorf("missing input %q", s.tokenizer.Input)
		}
		target, _ := find(s.spec.modelInputs, s.tokenizer.Target)
		ids, err := s.tokenizer.Apply(text, target.DataType)
		if err != nil {
			return nil, err
		}
		tokens = ids
	}
	ordered := make([]tensor.Tensor, 0, len(s.spec.modelInputs))
	for _, m := range s.spec.modelInputs {
		t, ok := named(inputs, m.Name)
		if s.tokenizer != nil && m.Name == tokens.Name {
			t, ok = tokens, true
		}
		if !ok {
			return nil, fmt.Errorf("missing input %q", m.Name)
		}
		ordered = append(ordered, t)
	}
	return ordered, nil
}

// close stops the batcher (finishing what it holds) and frees the sessions.
func (s *Served) close(ctx context.Context) error {
	var errs []error
	if s.batcher != nil {
		if err := s.batcher.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("closing batcher: %w", err))
		}
	}
	for _, sess := range s.sessions {
		if err := sess.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing session: %w", err))
		}
	}
	return errors.Join(errs...)
}

// drain waits for the requests holding s, or for ctx.
func (s *Served) drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for in-flight requests of %s/%s: %w", s.Model, s.Version, ctx.Err())
	}
}

// batchConfig is the batcher configuration config.yaml asks for, for
// sessions that run on provider (the one they got, not the one asked for:
// batch-size buckets default to on only where a GPU really runs them).
func batchConfig(cfg *config.Config, provider string) batch.Config {
	bc := batch.Config{MaxBatchSize: cfg.MaxBatchSize}
	if b := cfg.DynamicBatching; b != nil && cfg.MaxBatchSize > 0 {
		bc.Enabled = true
		bc.MaxQueueDelay = b.MaxQueueDelay.Std()
		bc.PreferredBatchSizes = b.PreferredBatchSizes
		bc.MaxQueueSize = b.MaxQueueSize
		bc.DefaultTimeout = b.DefaultTimeout.Std()
		bc.PadToPreferred = b.PadsToPreferred(provider)
	}
	for _, in := range cfg.Inputs {
		if in.PadValue != nil {
			if bc.PadValues == nil {
				bc.PadValues = map[string]float64{}
			}
			bc.PadValues[in.Name] = *in.PadValue
		}
	}
	return bc
}
