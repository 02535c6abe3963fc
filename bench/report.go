package bench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/modelgate/modelgate/bench/load"
)

// The paths a point can measure.
const (
	PathRaw            = "raw ORT in-process"
	PathSidecar        = "sidecar socket, batching off"
	PathSidecarBatched = "sidecar socket, batching on"
	// PathSidecarRPC is an empty RPC (ServerLive) over the same socket: the
	// floor of what the socket and gRPC cost per call, no model involved.
	PathSidecarRPC = "sidecar socket, empty RPC"
	PathServe      = "modelgate serve (HTTP, auth, quotas)"
	// PathServePrivacy is PathServe with the plugin config's privacy
	// section on: the built-in detectors, action mask.
	PathServePrivacy = "modelgate serve + privacy (mask)"
	// PathKong is the modelgate plugin server driven over Kong's wire
	// protocol (kongharness), with the same plugin config as PathServe.
	PathKong = "Kong plugin server (wire protocol)"
	// PathServeOpen is the serve path driven open-loop: Poisson arrivals at
	// a fixed rate, latency from each request's scheduled time.
	PathServeOpen = "modelgate serve, open loop (Poisson)"
	// The peers (bench/peers), run side by side on the sentences workload:
	// what a user might write instead, and the ceiling of a lean server.
	PathNode  = "peer: Node + onnxruntime-node"
	PathFlask = "peer: Flask + TorchScript, gunicorn -w 2"
	PathLean  = "ceiling: lean Go server, in-process ORT"
)

// The workloads a point can measure.
const (
	// WorkloadSentences is the shipped sentiment model (version 1) fed real
	// review sentences as text: the product's real workload, where the
	// gateway's own cost shows.
	WorkloadSentences = "sentences"
	// WorkloadSynthetic is the benchmark model fed 64 random ids per row:
	// the regime where the model's cost dominates (large models, GPUs).
	WorkloadSynthetic = "synthetic"
)

// Point is one measured configuration.
type Point struct {
	Workload string `json:"workload"`
	Path     string `json:"path"`
	Clients  int    `json:"clients"`
	// Batch is the items per request.
	Batch int `json:"batch"`
	// Rate is the request rate of an open-loop point (Clients is then 0).
	Rate float64 `json:"rate_per_s,omitempty"`
	load.Summary
	// ItemsRatio is items/s over the raw in-process best; P50Ratio is p50 over
	// raw batch-1 p50; P50AddedMicros is p50 minus raw batch-1 p50.
	// Server is the sidecar's own view of this point, from its metrics.
	Server *ServerTimes `json:"sidecar_view,omitempty"`
	// OverallItemsPerSecond is all items over all slices' time; ItemsPerSecond
	// (in Summary) is the median of the slices' rates.
	OverallItemsPerSecond float64 `json:"items_per_s_overall"`
	// Cores is the CPU each accounted process used while this point ran,
	// in cores busy on average (from /proc; 10 ms resolution).
	Cores map[string]float64 `json:"cores_busy,omitempty"`
	// CPUMicros is the CPU each accounted process used per request while
	// this point ran, in microseconds (from /proc).
	CPUMicros      map[string]float64 `json:"cpu_us_per_request,omitempty"`
	ItemsRatio     float64            `json:"items_ratio_to_raw_best"`
	P50Ratio       float64            `json:"p50_ratio_to_raw_batch1"`
	P50AddedMicros float64            `json:"p50_added_us_over_raw_batch1"`
}

// load is the point's offered load: its clients, or its open-loop rate.
func (p Point) load() string {
	if p.Rate > 0 {
		return fmt.Sprintf("%.0f/s", p.Rate)
	}
	return fmt.Sprint(p.Clients)
}

// cpuText is the CPU µs per request the process name used, or "-".
func (p Point) cpuText(name string) string {
	v, ok := p.CPUMicros[name]
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.0f", v)
}

// ortText is the sidecar's CPU µs per request inside ONNX Runtime runs, or "-".
func (p Point) ortText() string {
	if p.Server == nil || p.Server.ORTCPUMicros == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", p.Server.ORTCPUMicros)
}

// Goal is a target the issue sets, as measured in this run.
type Goal struct {
	Name     string  `json:"name"`
	Measured float64 `json:"measured"`
	Target   float64 `json:"target"`
	Unit     string  `json:"unit"`
	// AtMost: the goal is Measured <= Target; else Measured >= Target.
	AtMost bool `json:"at_most"`
	Met    bool `json:"met"`
}

// target reads the goal's target as "<= 150.00 us" or ">= 80.00 %".
func (g Goal) target() string {
	cmp := ">="
	if g.AtMost {
		cmp = "<="
	}
	return fmt.Sprintf("%s %.2f %s", cmp, g.Target, g.Unit)
}

// Report is a whole run.
type Report struct {
	Started  time.Time `json:"started"`
	Command  string    `json:"command"`
	Machine  Machine   `json:"machine"`
	Model    string    `json:"model"`
	Batching string    `json:"batching"`
	// Threads is the intra-op thread count of every ONNX Runtime session (0 = its default).
	Threads int `json:"intra_op_threads"`
	// Procs names the processes whose CPU the points account, in column order.
	Procs    []string `json:"processes,omitempty"`
	Points   []Point  `json:"points"`
	Goals    []Goal   `json:"goals"`
	NotDone  []string `json:"not_done,omitempty"`
	Notes    []string `json:"notes,omitempty"`
	Profiles []string `json:"profiles,omitempty"`
}

// RawBest is the synthetic workload's raw point with the most items/s, and
// batch1 its raw batch-1 point.
func (r *Report) RawBest() (best, batch1 Point) { return r.RawBestIn(WorkloadSynthetic) }

// RawBestIn is RawBest for workload.
func (r *Report) RawBestIn(workload string) (best, batch1 Point) {
	for _, p := range r.Points {
		if p.Path != PathRaw || p.Workload != workload {
			continue
		}
		if p.ItemsPerSecond > best.ItemsPerSecond {
			best = p
		}
		if p.Batch == 1 {
			batch1 = p
		}
	}
	return best, batch1
}

// Relate fills every point's ratios against the raw points of its workload.
func (r *Report) Relate() {
	for i := range r.Points {
		p := &r.Points[i]
		best, b1 := r.RawBestIn(p.Workload)
		if best.ItemsPerSecond > 0 {
			p.ItemsRatio = p.ItemsPerSecond / best.ItemsPerSecond
		}
		if b1.P50Micros > 0 {
			p.P50Ratio = p.P50Micros / b1.P50Micros
			p.P50AddedMicros = p.P50Micros - b1.P50Micros
		}
	}
}

// pathOrder is the order paths are listed in: from the limit outwards.
var pathOrder = []string{PathRaw, PathSidecarRPC, PathSidecar, PathSidecarBatched, PathServe, PathServePrivacy, PathKong, PathServeOpen, PathLean, PathNode, PathFlask}

// workloadOrder is the order workloads are listed in: the real one first.
var workloadOrder = []string{WorkloadSentences, WorkloadSynthetic}

// Sort orders the points by path (limit first), then clients, then batch.
func (r *Report) Sort() {
	rank := func(order []string, p string) int {
		if i := slices.Index(order, p); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortStableFunc(r.Points, func(a, b Point) int {
		return cmp.Or(cmp.Compare(rank(workloadOrder, a.Workload), rank(workloadOrder, b.Workload)),
			cmp.Compare(rank(pathOrder, a.Path), rank(pathOrder, b.Path)), cmp.Compare(a.Clients, b.Clients), cmp.Compare(a.Rate, b.Rate), cmp.Compare(a.Batch, b.Batch))
	})
}

// Find returns the synthetic workload's point of path at clients
// concurrent single-item clients.
func (r *Report) Find(path string, clients int) (Point, bool) {
	return r.FindIn(WorkloadSynthetic, path, clients)
}

// FindIn returns workload's point of path at clients concurrent clients.
func (r *Report) FindIn(workload, path string, clients int) (Point, bool) {
	for _, p := range r.Points {
		if p.Workload == workload && p.Path == path && p.Clients == clients {
			return p, true
		}
	}
	return Point{}, false
}

// AddGoal records a goal; AtMost goals are met at or below target.
func (r *Report) AddGoal(name string, measured, target float64, unit string, atMost bool) {
	met := measured >= target
	if atMost {
		met = measured <= target
	}
	r.Goals = append(r.Goals, Goal{Name: name, Measured: measured, Target: target, Unit: unit, AtMost: atMost, Met: met})
}

// WriteTable prints the points and goals as aligned text.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "machine:  %s (load average %.2f at start, %.2f at end)\nmodel:    %s\n", r.Machine, r.Machine.LoadBefore, r.Machine.LoadAfter, r.Model)
	if r.Batching != "" {
		fmt.Fprintf(w, "batching: %s\n", r.Batching)
	}
	fmt.Fprintf(w, "threads:  ONNX Runtime intra-op threads %d (0 = each one's default: ONNX Runtime's in-process, the sidecar's own choice in the sidecars)\n", r.Threads)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "workload\tpath\tclients|rate\tbatch\titems/s\tp50 ms\tp99 ms\terrors\titems/s / raw best\tp50 / raw b1\t"
	for _, name := range r.Procs {
		head += "CPU us/req " + name + "\t"
	}
	fmt.Fprintln(tw, head+"us/req in ORT (sidecar)\t")
	for _, p := range r.Points {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.0f\t%.3f\t%.3f\t%d\t%.2f\t%.2f\t", p.Workload, p.Path, p.load(), p.Batch,
			p.ItemsPerSecond, p.P50Micros/1000, p.P99Micros/1000, errorCount(p.Errors), p.ItemsRatio, p.P50Ratio)
		for _, name := range r.Procs {
			fmt.Fprintf(tw, "%s\t", p.cpuText(name))
		}
		fmt.Fprintf(tw, "%s\t\n", p.ortText())
	}
	tw.Flush()
	if len(r.Goals) > 0 {
		fmt.Fprintln(w)
	}
	for _, g := range r.Goals {
		verdict := "met"
		if !g.Met {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "goal %-58s %10.2f %s (target %s): %s\n", g.Name, g.Measured, g.Unit, g.target(), verdict)
	}
	r.writeServerTable(w)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, n := range r.NotDone {
		fmt.Fprintf(w, "not measured: %s\n", n)
	}
}

func errorCount(m map[string]int64) int64 {
	var n int64
	for _, c := range m {
		n += c
	}
	return n
}

// WriteJSON writes the report to path, creating its folder.
func (r *Report) WriteJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// writeServerTable prints, for the points with a sidecar view, how the
// client's mean latency splits: the sidecar's own time (of it, queue and
// one ONNX Runtime run) and the rest (socket, gRPC, client).
func (r *Report) writeServerTable(w io.Writer) {
	var any bool
	for _, p := range r.Points {
		any = any || p.Server != nil
	}
	if !any {
		return
	}
	fmt.Fprintln(w, "\nwhere a request's time goes (means, from the client and from the sidecar's metrics):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tpath\tclients\tclient mean ms\tsidecar request ms\tof it queue ms\tONNX run ms (per batch)\tmean batch\toutside the sidecar ms\t")
	for _, p := range r.Points {
		if s := p.Server; s != nil {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%.3f\t%.3f\t%.3f\t%.1f\t%.3f\t\n", p.Workload, p.Path, p.load(), p.MeanMicros/1000,
				s.RequestMicros/1000, s.QueueMicros/1000, s.ComputeMicros/1000, s.MeanBatch, (p.MeanMicros-s.RequestMicros)/1000)
		}
	}
	tw.Flush()
}

// OtherCores is the mean, over the points that measured it, of the CPU
// processes outside the run used.
func (r *Report) OtherCores() float64 {
	var sum float64
	var n int
	for _, p := range r.Points {
		if v, ok := p.Cores[OtherProcs]; ok {
			sum += v
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}
