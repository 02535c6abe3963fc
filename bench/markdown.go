package bench

import (
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes the points and goals as Markdown tables, for the README.
func (r *Report) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "Measured on %s (load average %.1f at start, %.1f at end), %s, `%s`.\n\n",
		r.Machine, r.Machine.LoadBefore, r.Machine.LoadAfter, r.Started.Format("2006-01-02 15:04 UTC"), r.Command)
	fmt.Fprintf(w, "Model: %s. %s. ONNX Runtime intra-op threads: %s.\n\n", r.Model, r.Batching, threadsText(r.Threads))
	head := "| workload | path | clients or rate | batch | items/s | p50 ms | p99 ms | errors | items/s ÷ raw best | p50 ÷ raw batch-1 p50 |"
	rule := "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for _, name := range r.Procs {
		head += " CPU µs/req: " + name + " |"
		rule += " ---: |"
	}
	fmt.Fprintln(w, head+" µs/req inside ORT (sidecar's own count) |")
	fmt.Fprintln(w, rule+" ---: |")
	for _, p := range r.Points {
		fmt.Fprintf(w, "| %s | %s | %s | %d | %.0f | %.3f | %.3f | %d | %.2f | %.2f |", p.Workload, p.Path, p.load(), p.Batch,
			p.ItemsPerSecond, p.P50Micros/1000, p.P99Micros/1000, errorCount(p.Errors), p.ItemsRatio, p.P50Ratio)
		for _, name := range r.Procs {
			fmt.Fprintf(w, " %s |", p.cpuText(name))
		}
		fmt.Fprintf(w, " %s |\n", p.ortText())
	}
	if len(r.Goals) > 0 {
		fmt.Fprintln(w, "\n| goal | measured | target | |\n| --- | ---: | ---: | --- |")
		for _, g := range r.Goals {
			verdict := "met"
			if !g.Met {
				verdict = "**missed**"
			}
			fmt.Fprintf(w, "| %s | %.2f %s | %s | %s |\n", g.Name, g.Measured, g.Unit, g.target(), verdict)
		}
	}
	var any bool
	for _, p := range r.Points {
		any = any || p.Server != nil
	}
	if any {
		fmt.Fprint(w, "\nWhere a request's time goes (means; the sidecar's share from its own metrics):\n\n")
		fmt.Fprintln(w, "| workload | path | clients | client mean ms | sidecar request ms | of it queue ms | ONNX run ms (per batch) | mean batch | outside the sidecar ms |")
		fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
		for _, p := range r.Points {
			if s := p.Server; s != nil {
				fmt.Fprintf(w, "| %s | %s | %s | %.3f | %.3f | %.3f | %.3f | %.1f | %.3f |\n", p.Workload, p.Path, p.load(), p.MeanMicros/1000,
					s.RequestMicros/1000, s.QueueMicros/1000, s.ComputeMicros/1000, s.MeanBatch, (p.MeanMicros-s.RequestMicros)/1000)
			}
		}
	}
	var notes []string
	notes = append(notes, r.Notes...)
	for _, n := range r.NotDone {
		notes = append(notes, "not measured: "+n)
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n- %s\n", strings.Join(notes, "\n- "))
	}
}

func threadsText(n int) string {
	if n == 0 {
		return "each one's default (ONNX Runtime's in-process, the sidecar's own choice in the sidecars)"
	}
	return fmt.Sprint(n)
}
