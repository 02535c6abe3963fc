package config

import (
	"fmt"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/modelgate/modelgate/shared/tensor"
)

// Providers are the execution providers a config may name.
var Providers = []string{"cpu", "cuda", "tensorrt"}

// validator collects problems, finding each one's line in the YAML tree.
type validator struct {
	root     *yaml.Node
	problems []Problem
}

// add records a problem at path, whose elements are keys (string) and list indexes (int).
func (v *validator) add(msg string, path ...any) {
	v.problems = append(v.problems, Problem{Line: v.line(path), Path: pathString(path), Msg: msg})
}

func pathString(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch p := p.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", p)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, p)
		}
	}
	return b.String()
}

// line finds the deepest node along path; a missing key reports its parent's line.
func (v *validator) line(path []any) int {
	n := v.root
	if n == nil || len(n.Content) == 0 {
		return 0
	}
	n = n.Content[0]
	line := n.Line
	for _, p := range path {
		var next *yaml.Node
		switch p := p.(type) {
		case int:
			if n.Kind == yaml.SequenceNode && p < len(n.Content) {
				next = n.Content[p]
			}
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == p {
						next = n.Content[i+1]
						break
					}
				}
			}
		}
		if next == nil {
			return line
		}
		n, line = next, next.Line
	}
	return line
}

func (v *validator) validate(c *Config) {
	if c.Platform != "" && c.Platform != "onnxruntime_onnx" {
		v.add(fmt.Sprintf("%q is not served; want onnxruntime_onnx or nothing", c.Platform), "platform")
	}
	if c.MaxBatchSize < 0 {
		v.add("must be >= 0 (0 = the model has no batch dimension)", "max_batch_size")
	}
	v.tensors(c, "inputs", c.Inputs)
	v.tensors(c, "outputs", c.Outputs)
	v.batching(c)
	v.instanceGroup(c.InstanceGroup)
	v.versionPolicy(c.VersionPolicy)
	if e := c.Encryption; e != nil && (e.KeyEnv == "") == (e.KeyFile == "") {
		v.add("set exactly one of key_env and key_file", "encryption")
	}
	v.text(c)
	v.classify(c)
}

func (v *validator) tensors(c *Config, key string, ts []Tensor) {
	seen := map[string]bool{}
	for i, t := range ts {
		switch {
		case t.Name == "":
			v.add("name is missing", key, i, "name")
		case seen[t.Name]:
			v.add(fmt.Sprintf("%q is listed twice", t.Name), key, i, "name")
		}
		seen[t.Name] = true
		if t.DataType == "" {
			v.add("datatype is missing", key, i, "datatype")
		} else if _, err := tensor.ParseDataType(t.DataType); err != nil {
			v.add(err.Error(), key, i, "datatype")
		}
		for j, d := range t.Dims {
			if d < -1 {
				v.add(fmt.Sprintf("%d is not a dimension (want >= 0, or -1 for any size)", d), key, i, "dims", j)
			}
		}
		if t.PadValue != nil {
			switch {
			case key != "inputs":
				v.add("only inputs take a pad_value", key, i, "pad_value")
			case c.MaxBatchSize == 0:
				v.add("pad_value needs max_batch_size > 0 (it lets requests share a batch)", key, i, "pad_value")
			case t.DataType == string(tensor.Bytes):
				v.add("a BYTES input cannot be padded", key, i, "pad_value")
			}
		}
	}
}

func (v *validator) batching(c *Config) {
	b := c.DynamicBatching
	if b == nil {
		return
	}
	if c.MaxBatchSize == 0 {
		v.add("needs max_batch_size > 0", "dynamic_batching")
	}
	if b.MaxQueueDelay < 0 {
		v.add("must not be negative", "dynamic_batching", "max_queue_delay")
	}
	if b.DefaultTimeout < 0 {
		v.add("must not be negative", "dynamic_batching", "default_timeout")
	}
	if b.MaxQueueSize < 0 {
		v.add("must be >= 0 (0 = the default, 1024)", "dynamic_batching", "max_queue_size")
	}
	for i, s := range b.PreferredBatchSizes {
		if s < 1 || (c.MaxBatchSize > 0 && s > c.MaxBatchSize) {
			v.add(fmt.Sprintf("%d is outside 1..max_batch_size (%d)", s, c.MaxBatchSize), "dynamic_batching", "preferred_batch_sizes", i)
		}
	}
	if b.PadToPreferred != nil && *b.PadToPreferred && len(b.PreferredBatchSizes) == 0 {
		v.add("needs preferred_batch_sizes (the sizes batches are padded to)", "dynamic_batching", "pad_to_preferred")
	}
}

func (v *validator) instanceGroup(g InstanceGroup) {
	if g.Count < 0 {
		v.add("must be >= 1 (absent = the sidecar's choice)", "instance_group", "count")
	}
	seen := map[string]bool{}
	for i, p := range g.ExecutionProviders {
		if !contains(Providers, p) {
			v.add(fmt.Sprintf("unknown execution provider %q (want %s)", p, strings.Join(Providers, ", ")), "instance_group", "execution_providers", i)
		} else if seen[p] {
			v.add(fmt.Sprintf("%q is listed twice", p), "instance_group", "execution_providers", i)
		}
		seen[p] = true
	}
	for i, id := range g.DeviceIDs {
		if id < 0 {
			v.add("device ids are >= 0", "instance_group", "device_ids", i)
		}
	}
	if g.IntraOpThreads < 0 {
		v.add("must be >= 0 (0 = the sidecar's choice)", "instance_group", "intra_op_threads")
	}
	if g.RequireGPU && len(g.ExecutionProviders) > 0 && !seen["cuda"] && !seen["tensorrt"] {
		v.add("require_gpu needs cuda or tensorrt among execution_providers", "instance_group", "require_gpu")
	}
}

func (v *validator) versionPolicy(p VersionPolicy) {
	set := 0
	if p.Latest != nil {
		set++
		if *p.Latest < 1 {
			v.add("must be >= 1", "version_policy", "latest")
		}
	}
	if p.All != nil {
		set++
		if !*p.All {
			v.add("all: false means nothing; use latest or specific instead", "version_policy", "all")
		}
	}
	if p.Specific != nil {
		set++
		if len(p.Specific) == 0 {
			v.add("names no version", "version_policy", "specific")
		}
		for i, s := range p.Specific {
			if err := CheckVersion(s); err != nil {
				v.add(err.Error(), "version_policy", "specific", i)
			}
		}
	}
	if set > 1 {
		v.add("set only one of latest, all and specific", "version_policy")
	}
}

func (v *validator) text(c *Config) {
	t := c.Preprocess.Text
	if t == nil {
		return
	}
	at := []any{"preprocess", "text"}
	if t.Input == "" {
		v.add("input is missing (the BYTES input clients send)", append(at, "input")...)
	}
	if t.Target == "" {
		v.add("target is missing (the model input of token ids)", append(at, "target")...)
	} else if len(c.Inputs) > 0 && !hasTensor(c.Inputs, t.Target) {
		v.add(fmt.Sprintf("%q is not among inputs", t.Target), append(at, "target")...)
	}
	if t.Input != "" && t.Input != t.Target && hasTensor(c.Inputs, t.Input) {
		v.add(fmt.Sprintf("%q is already a model input", t.Input), append(at, "input")...)
	}
	switch {
	case t.Vocabulary == "":
		v.add("vocabulary is missing (a file, one token per line)", append(at, "vocabulary")...)
	case filepath.IsAbs(t.Vocabulary) || !filepath.IsLocal(t.Vocabulary):
		v.add("must be a path inside the model folder", append(at, "vocabulary")...)
	}
	if t.MaxLength < 1 {
		v.add("must be >= 1", append(at, "max_length")...)
	}
	if t.UnknownID < 0 {
		v.add("must be >= 0", append(at, "unknown_id")...)
	}
	if t.PadID < 0 {
		v.add("must be >= 0", append(at, "pad_id")...)
	}
}

func (v *validator) classify(c *Config) {
	k := c.Postprocess.Classify
	if k == nil {
		return
	}
	at := []any{"postprocess", "classify"}
	if k.Output == "" {
		v.add("output is missing (the model output holding scores)", append(at, "output")...)
	} else if len(c.Outputs) > 0 && !hasTensor(c.Outputs, k.Output) {
		v.add(fmt.Sprintf("%q is not among outputs", k.Output), append(at, "output")...)
	}
	for _, name := range []string{"probabilities", "label"} {
		if hasTensor(c.Outputs, name) {
			v.add(fmt.Sprintf("the model already has an output %q, which classify adds", name), append(at, "output")...)
		}
	}
	if len(k.Labels) == 0 {
		v.add("labels are missing", append(at, "labels")...)
	}
	seen := map[string]bool{}
	for i, l := range k.Labels {
		if seen[l] {
			v.add(fmt.Sprintf("%q is listed twice", l), append(at, "labels", i)...)
		}
		seen[l] = true
	}
}

func hasTensor(ts []Tensor, name string) bool {
	for _, t := range ts {
		if t.Name == name {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
