package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const full = `
platform: onnxruntime_onnx
max_batch_size: 32
inputs:
  - name: tokens
    datatype: INT64
    dims: [-1]
    pad_value: 0
outputs:
  - name: logits
    datatype: FP32
    dims: [2]
dynamic_batching:
  max_queue_delay: 2ms
  preferred_batch_sizes: [8, 32]
  max_queue_size: 100
  default_timeout: 10s
instance_group:
  count: 2
  execution_providers: [cuda, cpu]
  device_ids: [0]
  intra_op_threads: 1
  allow_spinning: false
version_policy:
  specific: ["1", "3"]
encryption:
  key_env: MODELGATE_MODEL_KEY
preprocess:
  text:
    input: text
    target: tokens
    vocabulary: vocab.txt
    unknown_id: 1
    pad_id: 0
    max_length: 64
postprocess:
  classify:
    output: logits
    softmax: true
    labels: [negative, positive]
`

func TestParseFull(t *testing.T) {
	c, err := Parse("config.yaml", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxBatchSize != 32 || c.Inputs[0].Name != "tokens" || *c.Inputs[0].PadValue != 0 {
		t.Errorf("inputs: %+v", c.Inputs)
	}
	if c.DynamicBatching.MaxQueueDelay.Std() != 2*time.Millisecond || c.DynamicBatching.DefaultTimeout.Std() != 10*time.Second {
		t.Errorf("durations: %+v", c.DynamicBatching)
	}
	if c.InstanceGroup.Count != 2 || c.InstanceGroup.ExecutionProviders[0] != "cuda" || c.InstanceGroup.AllowSpinning == nil || *c.InstanceGroup.AllowSpinning {
		t.Errorf("instance group: %+v", c.InstanceGroup)
	}
	if !*c.Preprocess.Text.Lowercase || c.Preprocess.Text.MaxLength != 64 {
		t.Errorf("text: %+v", c.Preprocess.Text)
	}
	if got := c.VersionPolicy.Select([]int64{1, 2, 3}); len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Errorf("specific policy selected %v", got)
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse("config.yaml", []byte("max_batch_size: 4\ndynamic_batching: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.InstanceGroup.Count != 0 || len(c.InstanceGroup.ExecutionProviders) != 1 || c.InstanceGroup.AllowSpinning != nil || c.DynamicBatching.MaxQueueSize != DefaultMaxQueueSize {
		t.Errorf("defaults not applied: %+v %+v", c.InstanceGroup, c.DynamicBatching)
	}
	if got := c.VersionPolicy.Select([]int64{3, 1, 2}); len(got) != 1 || got[0] != 3 {
		t.Errorf("default policy selected %v", got)
	}
	if _, err := Parse("config.yaml", nil); err != nil {
		t.Errorf("an empty config is valid: %v", err)
	}
}

func TestPolicySelect(t *testing.T) {
	two, yes := 2, true
	tests := []struct {
		name string
		p    VersionPolicy
		want []int64
	}{
		{"latest 2", VersionPolicy{Latest: &two}, []int64{3, 10}},
		{"all", VersionPolicy{All: &yes}, []int64{1, 3, 10}},
		{"specific", VersionPolicy{Specific: []string{"3", "7"}}, []int64{3}},
	}
	for _, tt := range tests {
		got := tt.p.Select([]int64{10, 1, 3})
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			}
		}
	}
}

// TestParseReportsEveryProblem checks that one bad file yields every problem
// at once, each with its line.
func TestParseReportsEveryProblem(t *testing.T) {
	bad := `max_batch_size: 4
colour: blue
inputs:
  - name: tokens
    datatype: INT65
    dims: [-2]
  - name: tokens
    datatype: FP32
outputs:
  - name: probabilities
    datatype: FP32
    pad_value: 1
dynamic_batching:
  max_queue_delay: soon
  preferred_batch_sizes: [0, 8]
instance_group:
  count: many
  execution_providers: [gpu]
version_policy:
  latest: 0
  all: true
encryption: {}
preprocess:
  text:
    target: ids
    vocabulary: ../vocab.txt
postprocess:
  classify:
    output: logits
`
	_, err := Parse("m/config.yaml", []byte(bad))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`line 2: unknown key "colour"`,
		`line 5: inputs[0].datatype: unknown datatype "INT65"`,
		`line 6: inputs[0].dims[0]: -2 is not a dimension`,
		`line 7: inputs[1].name: "tokens" is listed twice`,
		`line 12: outputs[0].pad_value: only inputs take a pad_value`,
		`line 14: "soon" is not a duration`,
		`line 15: dynamic_batching.preferred_batch_sizes[0]: 0 is outside 1..max_batch_size (4)`,
		`line 17: "many" is a string, want an integer`,
		`line 18: instance_group.execution_providers[0]: unknown execution provider "gpu"`,
		`line 20: version_policy.latest: must be >= 1`,
		`version_policy: set only one of latest, all and specific`,
		`encryption: set exactly one of key_env and key_file`,
		`preprocess.text.input: input is missing`,
		`preprocess.text.target: "ids" is not among inputs`,
		`line 26: preprocess.text.vocabulary: must be a path inside the model folder`,
		`preprocess.text.max_length: must be >= 1`,
		`postprocess.classify.output: "logits" is not among outputs`,
		`the model already has an output "probabilities"`,
		`postprocess.classify.labels: labels are missing`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q", want)
		}
	}
	if testing.Verbose() || t.Failed() {
		t.Log(msg)
	}
}

func TestParseSyntaxError(t *testing.T) {
	_, err := Parse("config.yaml", []byte("inputs: [\n"))
	if err == nil || !strings.Contains(err.Error(), "config.yaml") {
		t.Fatalf("want a syntax error naming the file, got %v", err)
	}
}

func TestNames(t *testing.T) {
	for _, ok := range []string{"sentiment", "a.b-c_d", "Model1"} {
		if CheckModelName(ok) != nil {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "..", ".hidden", "a/b", "../etc", "a b", strings.Repeat("x", 129)} {
		if CheckModelName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, ok := range []string{"1", "12", "999"} {
		if CheckVersion(ok) != nil {
			t.Errorf("version %q refused", ok)
		}
	}
	for _, bad := range []string{"", "0", "01", "v1", "1/..", "-1"} {
		if CheckVersion(bad) == nil {
			t.Errorf("version %q accepted", bad)
		}
	}
}

func TestPadToPreferred(t *testing.T) {
	yes, no := true, false
	for _, c := range []struct {
		name     string
		b        *DynamicBatching
		provider string
		want     bool
	}{
		{"no batching", nil, "cuda", false},
		{"no preferred sizes on cuda", &DynamicBatching{}, "cuda", false},
		{"default on cuda", &DynamicBatching{PreferredBatchSizes: []int{4, 8}}, "cuda", true},
		{"default on tensorrt", &DynamicBatching{PreferredBatchSizes: []int{4, 8}}, "tensorrt", true},
		{"default on cpu", &DynamicBatching{PreferredBatchSizes: []int{4, 8}}, "cpu", false},
		{"on, cpu", &DynamicBatching{PreferredBatchSizes: []int{4}, PadToPreferred: &yes}, "cpu", true},
		{"off, cuda", &DynamicBatching{PreferredBatchSizes: []int{4}, PadToPreferred: &no}, "cuda", false},
	} {
		if got := c.b.PadsToPreferred(c.provider); got != c.want {
			t.Errorf("%s: PadsToPreferred(%q) = %v, want %v", c.name, c.provider, got, c.want)
		}
	}
}

func TestParsePadToPreferred(t *testing.T) {
	for _, c := range []struct {
		value string
		want  *bool
	}{{"", nil}, {"\n  pad_to_preferred: true", new(true)}, {"\n  pad_to_preferred: false", new(false)}} {
		cfg, err := Parse("config.yaml", []byte("max_batch_size: 8\ndynamic_batching:\n  preferred_batch_sizes: [4, 8]"+c.value+"\n"))
		if err != nil {
			t.Fatalf("%q: %v", c.value, err)
		}
		got := cfg.DynamicBatching.PadToPreferred
		if (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
			t.Errorf("%q: pad_to_preferred = %v, want %v", c.value, got, c.want)
		}
	}
	for bad, want := range map[string]string{
		"max_batch_size: 8\ndynamic_batching:\n  pad_to_preferred: true\n":                                `line 3: dynamic_batching.pad_to_preferred: needs preferred_batch_sizes`,
		"max_batch_size: 8\ndynamic_batching:\n  preferred_batch_sizes: [4]\n  pad_to_preferred: often\n": `line 4: "often" is a string, want true or false`,
	} {
		_, err := Parse("config.yaml", []byte(bad))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to contain %q", bad, err, want)
		}
	}
	// Refusing it without preferred sizes does not refuse an explicit off.
	if _, err := Parse("config.yaml", []byte("max_batch_size: 8\ndynamic_batching:\n  pad_to_preferred: false\n")); err != nil {
		t.Errorf("pad_to_preferred: false without preferred sizes: %v", err)
	}
}
