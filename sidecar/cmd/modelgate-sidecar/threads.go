package main

import (
	"log/slog"
	"runtime"
	"strconv"

	"github.com/modelgate/modelgate/sidecar/internal/threads"
)

// threadPlan chooses ONNX Runtime's threads for the cores this process may
// use (GOMAXPROCS: Go derives it from the CPU affinity and the cgroup CPU
// quota), applies the flags that override the choice, and logs the result.
// Launched by the plugin server, the sidecar shares its cores with the
// gateway; standalone (a container of its own), it does not.
func threadPlan(f *flags, pluginMode bool, log *slog.Logger) threads.Plan {
	plan, overridden := threads.Choose(runtime.GOMAXPROCS(0), pluginMode).Apply(threads.Overrides{
		IntraOpThreads: f.intraOpThreads,
		Spinning:       f.allowSpinning.value,
		Instances:      f.instances,
	})
	log.Info("ONNX Runtime threads", "cores", plan.Cores, "shares_cores_with_gateway", plan.SharesWithGateway,
		"intra_op_threads", plan.IntraOpThreads, "allow_spinning", plan.Spinning, "instances", plan.Instances,
		"set_by_flags", overridden)
	return plan
}

// optionalBool is a boolean flag that also knows whether it was given.
type optionalBool struct{ value *bool }

func (b *optionalBool) String() string {
	if b == nil || b.value == nil {
		return ""
	}
	return strconv.FormatBool(*b.value)
}

func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.value = &v
	return nil
}

// IsBoolFlag lets --allow-spinning stand alone for true, as flag.Bool does.
func (b *optionalBool) IsBoolFlag() bool { return true }
