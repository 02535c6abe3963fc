package bench

import (
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The chart's colours, one per path, in Points order of first appearance.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"}

// panel is one of the chart's two plots.
type panel struct {
	title, unit string
	x0, y0      float64 // top-left corner
	w, h        float64
	yMax        float64
	value       func(Point) float64
}

// WriteSVG draws items/s and p99 against concurrent clients, one line per
// serving path, with the raw in-process best as a dashed reference line and
// the machine in the caption.
func WriteSVG(path string, r *Report) error {
	// The real workload when the run measured it.
	workload := WorkloadSynthetic
	if slices.ContainsFunc(r.Points, func(p Point) bool { return p.Workload == WorkloadSentences }) {
		workload = WorkloadSentences
	}
	skip := func(p Point) bool {
		return p.Workload != workload || p.Path == PathRaw || p.Path == PathSidecarRPC || p.Rate > 0
	}
	series := map[string][]Point{}
	var order []string
	for _, p := range r.Points {
		if skip(p) {
			continue
		}
		if _, ok := series[p.Path]; !ok {
			order = append(order, p.Path)
		}
		series[p.Path] = append(series[p.Path], p)
	}
	for _, s := range series {
		slices.SortFunc(s, func(a, b Point) int { return a.Clients - b.Clients })
	}
	best, b1 := r.RawBestIn(workload)
	maxClients := 1
	var maxItems, maxP99 float64 = best.ItemsPerSecond, b1.P99Micros / 1000
	for _, p := range r.Points {
		if skip(p) {
			continue
		}
		maxClients = max(maxClients, p.Clients)
		maxItems = max(maxItems, p.ItemsPerSecond)
		maxP99 = max(maxP99, p.P99Micros/1000)
	}
	const width, height = 960.0, 470.0
	panels := []panel{
		{title: "throughput", unit: "items/s", x0: 70, y0: 50, w: 380, h: 280, yMax: niceCeil(maxItems * 1.05),
			value: func(p Point) float64 { return p.ItemsPerSecond }},
		{title: "p99 latency", unit: "ms", x0: 550, y0: 50, w: 380, h: 280, yMax: niceCeil(maxP99 * 1.05),
			value: func(p Point) float64 { return p.P99Micros / 1000 }},
	}
	xMax := math.Log2(float64(max(maxClients, 2)))
	xOf := func(pn panel, clients int) float64 { return pn.x0 + pn.w*math.Log2(float64(clients))/xMax }
	yOf := func(pn panel, v float64) float64 { return pn.y0 + pn.h - pn.h*v/pn.yMax }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	title := "modelgate: items/s and p99 against concurrent single-item clients"
	if workload == WorkloadSentences {
		title = "modelgate and its peers: the shipped sentiment model on real sentences, req/s and p99 against clients"
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", 70.0, title)
	for _, pn := range panels {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-weight="bold">%s (%s)</text>`+"\n", pn.x0, pn.y0-8, pn.title, pn.unit)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`+"\n", pn.x0, pn.y0, pn.w, pn.h)
		for i := 0; i <= 5; i++ {
			v := pn.yMax * float64(i) / 5
			y := yOf(pn, v)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", pn.x0, pn.x0+pn.w, y, y)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", pn.x0-6, y+4, tickLabel(v))
		}
		for c := 1; c <= maxClients; c *= 2 {
			x := xOf(pn, c)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", x, x, pn.y0, pn.y0+pn.h)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`+"\n", x, pn.y0+pn.h+16, c)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">concurrent clients</text>`+"\n", pn.x0+pn.w/2, pn.y0+pn.h+34)
		// The in-process reference: best items/s (any batch) on the left, batch-1 p99 on the right.
		ref, refLabel := best.ItemsPerSecond, fmt.Sprintf("raw ORT best (batch %d)", best.Batch)
		if pn.unit == "ms" {
			ref, refLabel = b1.P99Micros/1000, "raw ORT batch 1"
		}
		if ref > 0 {
			y := yOf(pn, ref)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#555" stroke-dasharray="6 4"/>`+"\n", pn.x0, pn.x0+pn.w, y, y)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#555">%s</text>`+"\n", pn.x0+pn.w-4, y-4, html.EscapeString(refLabel))
		}
		for i, name := range order {
			colour := palette[i%len(palette)]
			var pts []string
			for _, p := range series[name] {
				x, y := xOf(pn, p.Clients), yOf(pn, pn.value(p))
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s, %d clients: %s %s</title></circle>`+"\n",
					x, y, colour, html.EscapeString(name), p.Clients, tickLabel(pn.value(p)), pn.unit)
			}
			if len(pts) > 1 {
				fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), colour)
			}
		}
	}
	y := 390.0
	for i, name := range order {
		x := 70.0 + float64(i%2)*480
		if i%2 == 0 && i > 0 {
			y += 18
		}
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f" stroke="%s" stroke-width="3"/>`+"\n", x, x+24, y-4, y-4, palette[i%len(palette)])
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">%s</text>`+"\n", x+30, y, html.EscapeString(name))
	}
	cmd := r.Command
	if len(cmd) > 120 {
		cmd = cmd[:117] + "..."
	}
	fmt.Fprintf(&b, `<text x="70" y="%.0f" fill="#444">%s; load average %.1f-%.1f; %s</text>`+"\n", height-28,
		html.EscapeString(r.Machine.String()), r.Machine.LoadBefore, r.Machine.LoadAfter, html.EscapeString(r.Started.Format("2006-01-02 15:04 UTC")))
	fmt.Fprintf(&b, `<text x="70" y="%.0f" fill="#444">%s</text>`+"\n", height-12, html.EscapeString(cmd))
	b.WriteString("</svg>\n")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// niceCeil rounds v up to a round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or
// 8 times a power of ten), so axis ticks at fifths are round too.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	exp := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*exp >= v {
			return m * exp
		}
	}
	return 10 * exp
}

func tickLabel(v float64) string {
	switch {
	case v >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
