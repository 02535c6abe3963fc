package repository

import (
	"context"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/modelgate/modelgate/shared/tensor"
	"github.com/modelgate/modelgate/sidecar/internal/batch"
)

// cpuTimed is a runner that adds the CPU time of its calling thread during
// each run to a counter: the sidecar's own measure of the time spent inside
// ONNX Runtime (with the tensor copies into and out of it). /proc cannot
// separate it from the rest of the process, because with one intra-op thread
// ONNX Runtime runs on the calling Go thread; with more, the pool threads'
// share is not in it.
type cpuTimed struct {
	batch.Runner
	add func(time.Duration)
}

// Run runs the wrapped runner with the goroutine locked to its thread, so
// that the thread's CPU clock read before and after belongs to this run.
func (c cpuTimed) Run(ctx context.Context, inputs []tensor.Tensor, outputs []string) ([]tensor.Tensor, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, okBefore := threadCPU()
	out, err := c.Runner.Run(ctx, inputs, outputs)
	if after, okAfter := threadCPU(); okBefore && okAfter && after > before {
		c.add(after - before)
	}
	return out, err
}

func threadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
