package repository

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/modelgate/modelgate/shared/tensor"
	"github.com/modelgate/modelgate/sidecar/internal/batch"
	"github.com/modelgate/modelgate/sidecar/internal/config"
	"github.com/modelgate/modelgate/sidecar/internal/modelfile"
	"github.com/modelgate/modelgate/sidecar/internal/ort"
	"github.com/modelgate/modelgate/sidecar/internal/textproc"
)

// loadServed reads, checks and warms up one version; on any error nothing
// it created is left open.
func (r *Repository) loadServed(ctx context.Context, model, version, modelDir string, cfg *config.Config) (_ *Served, err error) {
	log := r.log.With("model", model, "version", version)
	s := &Served{Model: model, Version: version, MaxBatchSize: cfg.MaxBatchSize, log: log}
	defer func() {
		if err != nil {
			_ = s.close(context.WithoutCancel(ctx))
		}
	}()
	file, err := modelfile.Read(filepath.Join(modelDir, version), modelfile.Identity{Model: model, Version: version},
		modelfile.ReadOptions{Key: modelfile.KeyFromConfig(cfg.Encryption, modelDir, r.opts.KeyDirs), RequireBound: r.opts.RequireBoundModels})
	if err != nil {
		return nil, err
	}
	if file.Unbound {
		log.Warn("encrypted model does not bind its model name and version: a copy from another version or model would load too; re-encrypt it (modelgate-sidecar encrypt), then run with --require-bound-models")
	}
	bytes := file.Bytes
	// A decrypted model must not outlive the sessions built from it.
	defer clear(bytes)

	opts := ort.Options{
		Providers:      cfg.InstanceGroup.ExecutionProviders,
		DeviceIDs:      cfg.InstanceGroup.DeviceIDs,
		RequireGPU:     cfg.InstanceGroup.RequireGPU,
		IntraOpThreads: cfg.InstanceGroup.IntraOpThreads,
	}
	if opts.IntraOpThreads == 0 {
		opts.IntraOpThreads = r.opts.IntraOpThreads
	}
	opts.NoSpinning = r.opts.NoSpinning
	if a := cfg.InstanceGroup.AllowSpinning; a != nil {
		opts.NoSpinning = !*a
	}
	// Without a count the first session's provider decides how many follow.
	count := cfg.InstanceGroup.Count
	for i := 0; i < max(count, 1); i++ {
		sess, err := ort.NewSession(bytes, opts.ForInstance(i), log.With("instance", i))
		if err != nil {
			return nil, fmt.Errorf("creating session %d: %w", i, err)
		}
		s.sessions = append(s.sessions, sess)
		if count == 0 {
			count = r.defaultInstances(sess.Provider(), len(opts.DeviceIDs))
		}
	}
	s.Provider = s.sessions[0].Provider()

	if s.spec, err = buildSpec(cfg, s.sessions[0].Inputs(), s.sessions[0].Outputs()); err != nil {
		return nil, err
	}
	s.Inputs, s.Outputs = s.spec.inputs, s.spec.outputs
	if t := cfg.Preprocess.Text; t != nil {
		if s.tokenizer, err = textproc.NewTokenizer(*t, modelDir); err != nil {
			return nil, err
		}
	}
	if c := cfg.Postprocess.Classify; c != nil {
		s.classifier = textproc.NewClassifier(*c)
		s.Labels = c.Labels
	}
	if err := s.warmUp(ctx, cfg); err != nil {
		return nil, err
	}
	runners := make([]batch.Runner, len(s.sessions))
	for i, sess := range s.sessions {
		runners[i] = cpuTimed{Runner: sess, add: r.opts.Metrics.ORTCPU(model, version)}
	}
	bc := batchConfig(cfg, s.Provider)
	bc.MaxPaddedElements = r.opts.MaxElements
	s.batcher = batch.New(bc, runners, r.opts.Metrics.Observer(model, version))
	log.Info("model version loaded", "instances", len(s.sessions), "provider", s.Provider, "pad_to_preferred", bc.PadToPreferred)
	return s, nil
}

// defaultInstances is the session count of a version whose config sets
// none: one per GPU on a GPU (a CUDA session serializes its runs, so more
// sessions on one device mostly add memory), the sidecar's choice on the CPU.
func (r *Repository) defaultInstances(provider string, devices int) int {
	if provider != ort.ProviderCPU {
		return max(devices, 1)
	}
	return max(r.opts.Instances, 1)
}

// warmUp runs every session once per warm-up batch size with zero inputs,
// so that first requests do not pay for lazy allocation or (on GPUs)
// algorithm selection, and so that a model that cannot run fails its load.
func (s *Served) warmUp(ctx context.Context, cfg *config.Config) error {
	sizes := []int{1}
	if cfg.MaxBatchSize > 0 && cfg.DynamicBatching != nil && len(cfg.DynamicBatching.PreferredBatchSizes) > 0 {
		sizes = cfg.DynamicBatching.PreferredBatchSizes
	}
	outputs := make([]string, len(s.spec.modelOutputs))
	for i, o := range s.spec.modelOutputs {
		outputs[i] = o.Name
	}
	for _, size := range sizes {
		inputs, err := zeroInputs(s.spec.modelInputs, size)
		if err != nil {
			return err
		}
		for i, sess := range s.sessions {
			if _, err := sess.Run(ctx, inputs, outputs); err != nil {
				return fmt.Errorf("warm-up run (batch %d, instance %d): %w", size, i, err)
			}
		}
	}
	s.log.Debug("warmed up", "batch_sizes", sizes)
	return nil
}

// zeroInputs builds all-zero inputs (empty strings for BYTES) with batch
// size b (when the first dim is the batch) and 1 for other dynamic dims.
func zeroInputs(specs []TensorSpec, b int) ([]tensor.Tensor, error) {
	var out []tensor.Tensor
	for _, sp := range specs {
		shape := make([]int64, len(sp.Shape))
		for i, d := range sp.Shape {
			switch {
			case i == 0 && d == -1:
				shape[i] = int64(b)
			case d == -1:
				shape[i] = 1
			default:
				shape[i] = d
			}
		}
		n, err := tensor.ElementCount(shape, 0)
		if err != nil {
			return nil, err
		}
		t := tensor.Tensor{Name: sp.Name, DataType: sp.DataType, Shape: shape}
		if sp.DataType == tensor.Bytes {
			t.Raw = tensor.EncodeBytes(make([][]byte, n))
		} else {
			t.Raw = make([]byte, n*int64(sp.DataType.Size()))
		}
		out = append(out, t)
	}
	return out, nil
}
