package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/modelgate/modelgate/bench/load"
)

// Case is one configuration to measure: Clients closed-loop callers of Fn,
// each request carrying Batch items.
type Case struct {
	// Workload is what the requests carry (WorkloadSentences, WorkloadSynthetic).
	Workload string
	Path     string
	Clients  int
	Batch    int
	Fn       load.Func
	// Probe, when set, reads cumulative server-side counters (see
	// SidecarProbe); the point gets their change over its slices.
	Probe func() map[string]float64
}

// Interleave measures every case for d in all, as rounds slices taken in
// turn (case 1, case 2, ..., case 1, case 2, ...), after one warm-up slice
// each. On a machine other work shares, a slow minute then hurts every case
// alike instead of whichever case it fell on, so the ratios between cases
// stay meaningful. timeout bounds each request.
//
// The CPU time each of procs used during a case's slices is recorded with
// its point, as cores busy on average, and so is the machine's busy time
// beyond them ("other": work this run does not own). A point's items/s is
// the median over its slices, so one slice that other work disturbed does not
// decide it; the overall rate is kept beside it.
func Interleave(ctx context.Context, cases []Case, procs []Proc, d time.Duration, rounds int, timeout time.Duration, progress func(round int)) ([]Point, error) {
	rounds = max(1, rounds)
	slice := d / time.Duration(rounds)
	warm := min(slice, time.Second)
	for _, c := range cases {
		r := load.Closed{Clients: c.Clients, Duration: warm, Timeout: timeout}.Run(ctx, c.Fn)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if r.Requests > 0 && r.ErrorCount() == r.Requests {
			return nil, fmt.Errorf("%s at %d clients, batch %d: every warm-up request failed: %v", c.Path, c.Clients, c.Batch, r.Errors)
		}
	}
	results := make([]*load.Result, len(cases))
	cpu := make([][]time.Duration, len(cases))
	for i := range cpu {
		cpu[i] = make([]time.Duration, len(procs))
	}
	machineBusy := make([]time.Duration, len(cases))
	counters := make([]map[string]float64, len(cases))
	rates := make([][]float64, len(cases))
	for round := range rounds {
		if progress != nil {
			progress(round)
		}
		for i, c := range cases {
			before, busyBefore := cpuSnapshot(procs), MachineBusy()
			var probeBefore map[string]float64
			if c.Probe != nil {
				probeBefore = c.Probe()
			}
			r := load.Closed{Clients: c.Clients, Duration: slice, Timeout: timeout}.Run(ctx, c.Fn)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			for j, after := range cpuSnapshot(procs) {
				cpu[i][j] += max(0, after-before[j])
			}
			machineBusy[i] += max(0, MachineBusy()-busyBefore)
			if c.Probe != nil && probeBefore != nil {
				if after := c.Probe(); after != nil {
					if counters[i] == nil {
						counters[i] = map[string]float64{}
					}
					for k, v := range after {
						counters[i][k] += v - probeBefore[k]
					}
				}
			}
			rates[i] = append(rates[i], r.ItemsPerSecond())
			if results[i] == nil {
				results[i] = r
			} else {
				results[i].Merge(r)
			}
		}
	}
	points := make([]Point, len(cases))
	for i, c := range cases {
		p := Point{Workload: c.Workload, Path: c.Path, Clients: c.Clients, Batch: c.Batch, Summary: results[i].Summarize()}
		p.OverallItemsPerSecond = p.ItemsPerSecond
		p.ItemsPerSecond = median(rates[i])
		if elapsed := results[i].Elapsed.Seconds(); elapsed > 0 {
			p.Cores = map[string]float64{}
			other := machineBusy[i]
			for j, proc := range procs {
				p.Cores[proc.Name] = cpu[i][j].Seconds() / elapsed
				other -= cpu[i][j]
			}
			p.Cores[OtherProcs] = max(0, other.Seconds()/elapsed)
		}
		if n := results[i].Requests; n > 0 {
			p.CPUMicros = map[string]float64{}
			for j, proc := range procs {
				p.CPUMicros[proc.Name] = float64(cpu[i][j].Microseconds()) / float64(n)
			}
		}
		if counters[i] != nil {
			p.Server = serverTimes(counters[i])
		}
		points[i] = p
	}
	return points, nil
}

// OtherProcs names, in Point.Cores, the CPU the machine spent on processes
// the run does not own.
const OtherProcs = "other"

// median of xs (0 for none); xs is reordered.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
