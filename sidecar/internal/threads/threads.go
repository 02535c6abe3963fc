// Package threads decides how the sidecar spends the cores it may use on
// ONNX Runtime: intra-op threads per session, whether those threads spin,
// and how many sessions (instances) serve a model version on the CPU. The
// defaults follow from the core count and from whether the gateway runs on
// the same cores; every choice can be overridden (flags, config.yaml).
package threads

import "fmt"

// Plan is how ONNX Runtime uses the cores.
type Plan struct {
	// Cores is the number of cores the plan is for (GOMAXPROCS, which Go
	// derives from the CPU affinity and the cgroup CPU quota).
	Cores int
	// SharesWithGateway is true when the gateway runs on the same cores:
	// the sidecar was launched by the plugin server.
	SharesWithGateway bool
	// IntraOpThreads is ONNX Runtime's intra-op thread count per session.
	// With 1, a run computes on the calling goroutine's thread alone.
	IntraOpThreads int
	// Spinning is ONNX Runtime's session.intra_op.allow_spinning.
	Spinning bool
	// Instances is the number of sessions per model version on the CPU,
	// where a config sets no instance_group.count.
	Instances int
}

// Choose returns the default plan for cores cores, shared or not with the
// gateway.
//
// The cores ONNX Runtime may fill are all of them for a sidecar of its own
// (a container with its own CPU limit), and half of them when the gateway
// runs beside it: on a small model the gateway's per-request work (HTTP,
// auth, quota, gRPC) costs as much CPU as the model's per item, and batching
// makes the model's share cheaper as load grows.
//
// Those cores go to at least two instances where there are two, so that a
// request arriving while one batch runs starts on the other at once, and at
// most four; each instance gets an equal share of intra-op threads. Small
// models (the common case on a CPU) scale better over instances and batches
// than over intra-op threads, which a short run cannot keep busy.
//
// Spinning keeps an intra-op thread busy-waiting after each run for the
// next one. It only pays where that thread takes a core nobody else needs:
// never beside the gateway, never with one intra-op thread (there is no
// pool to spin), and only from 8 cores up, below which the sidecar's own
// gRPC and batching goroutines need the cores a spinning pool would take
// (measured: ORT's spinning pool cost about 3x the CPU per item in the
// sidecar on a 2-core machine).
func Choose(cores int, sharesWithGateway bool) Plan {
	cores = max(cores, 1)
	budget := cores
	if sharesWithGateway {
		budget = max(cores/2, 1)
	}
	instances := min(max(budget/4, 2), 4, budget)
	intra := max(budget/instances, 1)
	return Plan{
		Cores:             cores,
		SharesWithGateway: sharesWithGateway,
		IntraOpThreads:    intra,
		Spinning:          !sharesWithGateway && intra > 1 && cores >= 8,
		Instances:         instances,
	}
}

// Overrides are choices made by hand; zero values (nil for Spinning) keep
// the plan's.
type Overrides struct {
	IntraOpThreads int
	Spinning       *bool
	Instances      int
}

// Apply returns p with the overrides applied, and the names of the fields
// that were overridden.
func (p Plan) Apply(o Overrides) (Plan, []string) {
	var set []string
	if o.IntraOpThreads > 0 {
		p.IntraOpThreads = o.IntraOpThreads
		set = append(set, "intra_op_threads")
	}
	if o.Spinning != nil {
		p.Spinning = *o.Spinning
		set = append(set, "allow_spinning")
	}
	if o.Instances > 0 {
		p.Instances = o.Instances
		set = append(set, "instances")
	}
	return p, set
}

// String is the plan in a few words, for logs and errors.
func (p Plan) String() string {
	return fmt.Sprintf("%d instances x %d intra-op threads, spinning %t, on %d cores (shared with the gateway: %t)",
		p.Instances, p.IntraOpThreads, p.Spinning, p.Cores, p.SharesWithGateway)
}
