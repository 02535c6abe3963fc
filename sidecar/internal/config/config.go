// Package config reads a model's config.yaml: Triton's model configuration
// in YAML, with TF Serving-style text pre- and post-processing. Parse decodes
// and validates it once, reporting every problem with its line; the rest of
// the sidecar only sees the typed, defaulted result.
package config

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// FileName is the model configuration file inside a model folder.
const FileName = "config.yaml"

// Defaults applied by Parse.
const (
	DefaultMaxQueueSize = 1024
	DefaultLatest       = 1
)

// Config is one model's configuration.
type Config struct {
	// Platform is optional; only onnxruntime_onnx is served.
	Platform string `yaml:"platform"`
	// MaxBatchSize > 0 means the first dimension of every input and output is
	// the batch dimension, absent from Dims; 0 means the model has none.
	MaxBatchSize    int              `yaml:"max_batch_size"`
	Inputs          []Tensor         `yaml:"inputs"`
	Outputs         []Tensor         `yaml:"outputs"`
	DynamicBatching *DynamicBatching `yaml:"dynamic_batching"`
	InstanceGroup   InstanceGroup    `yaml:"instance_group"`
	VersionPolicy   VersionPolicy    `yaml:"version_policy"`
	Encryption      *Encryption      `yaml:"encryption"`
	Preprocess      Preprocess       `yaml:"preprocess"`
	Postprocess     Postprocess      `yaml:"postprocess"`
}

// Tensor describes one model input or output.
type Tensor struct {
	Name     string  `yaml:"name"`
	DataType string  `yaml:"datatype"`
	Dims     []int64 `yaml:"dims"`
	// PadValue, on an input, lets requests whose non-batch dims differ share
	// a batch: shorter ones are padded with it.
	PadValue *float64 `yaml:"pad_value"`
}

// DynamicBatching turns on the batcher; absent means each request runs alone.
type DynamicBatching struct {
	MaxQueueDelay       Duration `yaml:"max_queue_delay"`
	PreferredBatchSizes []int    `yaml:"preferred_batch_sizes"`
	// MaxQueueSize bounds the requests waiting; absent or 0 means DefaultMaxQueueSize.
	MaxQueueSize int `yaml:"max_queue_size"`
	// DefaultTimeout bounds requests that arrive without a deadline.
	DefaultTimeout Duration `yaml:"default_timeout"`
	// PadToPreferred pads every batch up to the smallest preferred batch
	// size that holds it (batch-size buckets), so a GPU only ever sees the
	// shapes the warm-up ran. Absent: see PadsToPreferred.
	PadToPreferred *bool `yaml:"pad_to_preferred"`
}

// PadsToPreferred says whether batches are padded to preferred batch sizes
// for sessions running on provider ("cpu", "cuda", "tensorrt"). An explicit
// pad_to_preferred wins; absent, it is on only on a GPU provider with
// preferred_batch_sizes set: there each new batch size is a new input shape
// that cuDNN's algorithm search and CUDA kernel selection pay for on first
// sight, while on a CPU padded rows are only wasted work.
func (b *DynamicBatching) PadsToPreferred(provider string) bool {
	if b == nil || len(b.PreferredBatchSizes) == 0 {
		return false
	}
	if b.PadToPreferred != nil {
		return *b.PadToPreferred
	}
	return provider == "cuda" || provider == "tensorrt"
}

// InstanceGroup says how many sessions serve a version and where they run.
type InstanceGroup struct {
	// Count is the number of sessions per version; absent or 0 means the
	// sidecar's choice: its --instances (chosen from its cores) on the CPU,
	// one per device id on a GPU.
	Count int `yaml:"count"`
	// ExecutionProviders are tried in order: cpu, cuda, tensorrt. Absent means [cpu].
	ExecutionProviders []string `yaml:"execution_providers"`
	DeviceIDs          []int    `yaml:"device_ids"`
	RequireGPU         bool     `yaml:"require_gpu"`
	// IntraOpThreads 0 means the sidecar's choice (--intra-op-threads, else
	// chosen from its cores).
	IntraOpThreads int `yaml:"intra_op_threads"`
	// AllowSpinning is ONNX Runtime's session.intra_op.allow_spinning;
	// absent means the sidecar's choice (--allow-spinning, else chosen from
	// its cores).
	AllowSpinning *bool `yaml:"allow_spinning"`
}

// VersionPolicy picks the versions to serve; exactly one field may be set.
// None set means the latest DefaultLatest versions.
type VersionPolicy struct {
	Latest   *int     `yaml:"latest"`
	All      *bool    `yaml:"all"`
	Specific []string `yaml:"specific"`
}

// Encryption names where the AES-256 key of model.onnx.enc files comes from.
type Encryption struct {
	KeyEnv  string `yaml:"key_env"`
	KeyFile string `yaml:"key_file"`
}

// Preprocess holds the request-side transforms.
type Preprocess struct {
	Text *TextPreprocess `yaml:"text"`
}

// TextPreprocess tokenizes a BYTES input into a model's token-id input.
type TextPreprocess struct {
	Input      string `yaml:"input"`
	Target     string `yaml:"target"`
	Vocabulary string `yaml:"vocabulary"`
	// Lowercase defaults to true.
	Lowercase *bool `yaml:"lowercase"`
	UnknownID int64 `yaml:"unknown_id"`
	PadID     int64 `yaml:"pad_id"`
	MaxLength int   `yaml:"max_length"`
}

// Postprocess holds the response-side transforms.
type Postprocess struct {
	Classify *Classify `yaml:"classify"`
}

// Classify turns a score output into class probabilities and labels.
type Classify struct {
	Output  string   `yaml:"output"`
	Softmax bool     `yaml:"softmax"`
	Labels  []string `yaml:"labels"`
}

// Duration is a time.Duration written as a Go duration string ("2ms").
type Duration time.Duration

// UnmarshalYAML parses a duration string; its error is a *yaml.TypeError so
// that decoding goes on and every problem is reported at once.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if n.Kind != yaml.ScalarNode || n.Decode(&s) != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: want a duration string like \"2ms\"", n.Line)}}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration (want e.g. \"2ms\", \"10s\")", n.Line, s)}}
	}
	*d = Duration(v)
	return nil
}

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }
