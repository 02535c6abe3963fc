package bench

import (
	"encoding/xml"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/bench/load"
)

func point(path string, clients, batch int, itemsPerSec, p50us, p99us float64) Point {
	return Point{Workload: WorkloadSynthetic, Path: path, Clients: clients, Batch: batch, Summary: load.Summary{ItemsPerSecond: itemsPerSec, P50Micros: p50us, P99Micros: p99us}}
}

func testReport() *Report {
	return &Report{
		Machine: Machine{Arch: "x86_64", CPU: "Test CPU <&>", Cores: 2},
		Points: []Point{
			point(PathRaw, 1, 1, 2000, 500, 700),
			point(PathRaw, 1, 32, 8000, 4000, 4500),
			point(PathRaw, 1, 128, 6000, 20000, 22000),
			point(PathSidecar, 1, 1, 1600, 600, 900),
			point(PathServe, 1, 1, 1000, 1000, 1500),
			point(PathServe, 16, 1, 5000, 3000, 6000),
			point(PathServe, 64, 1, 6000, 10000, 20000),
		},
	}
}

func TestRelateAgainstRawBestAndBatch1(t *testing.T) {
	r := testReport()
	r.Relate()
	best, b1 := r.RawBest()
	if best.Batch != 32 || b1.Batch != 1 {
		t.Fatalf("raw best batch %d, batch-1 batch %d", best.Batch, b1.Batch)
	}
	p, _ := r.Find(PathServe, 64)
	if p.ItemsRatio != 0.75 || p.P50Ratio != 20 || p.P50AddedMicros != 9500 {
		t.Fatalf("serve at 64: items ratio %v, p50 ratio %v, added %v", p.ItemsRatio, p.P50Ratio, p.P50AddedMicros)
	}
	s, _ := r.Find(PathSidecar, 1)
	if s.P50AddedMicros != 100 || math.Abs(s.ItemsRatio-0.2) > 1e-12 {
		t.Fatalf("sidecar at 1: added %v us, ratio %v", s.P50AddedMicros, s.ItemsRatio)
	}
}

// TestRelatePerWorkload: each workload's points are judged against its own
// raw points, never the other workload's.
func TestRelatePerWorkload(t *testing.T) {
	r := testReport()
	sentence := func(path string, clients, batch int, itemsPerSec, p50us float64) Point {
		p := point(path, clients, batch, itemsPerSec, p50us, p50us)
		p.Workload = WorkloadSentences
		return p
	}
	r.Points = append(r.Points, sentence(PathRaw, 1, 1, 10000, 100), sentence(PathRaw, 1, 32, 40000, 800),
		sentence(PathServe, 64, 1, 10000, 6000), sentence(PathServe, 1, 1, 2000, 400))
	r.Relate()
	if p, _ := r.FindIn(WorkloadSentences, PathServe, 64); p.ItemsRatio != 0.25 {
		t.Errorf("sentences serve at 64: items ratio %v, want 0.25 (of the sentences raw best)", p.ItemsRatio)
	}
	if p, _ := r.FindIn(WorkloadSentences, PathServe, 1); p.P50AddedMicros != 300 {
		t.Errorf("sentences serve at 1: p50 added %v us, want 300 (over the sentences raw batch 1)", p.P50AddedMicros)
	}
	if p, _ := r.Find(PathServe, 64); p.ItemsRatio != 0.75 {
		t.Errorf("synthetic serve at 64: items ratio %v, want 0.75", p.ItemsRatio)
	}
	r.Sort()
	if r.Points[0].Workload != WorkloadSentences || r.Points[len(r.Points)-1].Workload != WorkloadSynthetic {
		t.Errorf("the sentences workload must be listed first: %v ... %v", r.Points[0], r.Points[len(r.Points)-1])
	}
}

func TestGoals(t *testing.T) {
	r := &Report{}
	r.AddGoal("overhead", 120, 150, "us", true)
	r.AddGoal("overhead", 151, 150, "us", true)
	r.AddGoal("share", 80, 80, "%", false)
	r.AddGoal("share", 79.9, 80, "%", false)
	for i, want := range []bool{true, false, true, false} {
		if r.Goals[i].Met != want {
			t.Errorf("goal %d: met %v, want %v", i, r.Goals[i].Met, want)
		}
	}
}

func TestSVGIsWellFormedAndNamesThePaths(t *testing.T) {
	r := testReport()
	r.Relate()
	path := filepath.Join(t.TempDir(), "docs", "bench.svg")
	if err := WriteSVG(path, r); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(strings.NewReader(string(data)))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("SVG is not well-formed XML: %v", err)
			}
			break
		}
	}
	for _, want := range []string{PathServe, PathSidecar, "Test CPU &lt;&amp;&gt;", "2 cores", "raw ORT best (batch 32)", "<polyline"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestNiceCeil(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{{0, 1}, {7371, 8000}, {1900, 2000}, {2100, 2500}, {0.9, 1}, {42, 50}, {1155, 1200}} {
		if got := niceCeil(tc.in); got != tc.want {
			t.Errorf("niceCeil(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestMarkdownTable(t *testing.T) {
	r := testReport()
	r.Procs = []string{"bench"}
	r.Points[0].Cores = map[string]float64{"bench": 1.5}
	r.Points[0].CPUMicros = map[string]float64{"bench": 151.4}
	r.Points[6].Server = &ServerTimes{RequestMicros: 900, MeanBatch: 3, ORTCPUMicros: 87.6}
	r.Relate()
	r.AddGoal("share", 75, 70, "%", false)
	r.NotDone = []string{"Kong path"}
	var b strings.Builder
	r.WriteMarkdown(&b)
	out := b.String()
	for _, want := range []string{"| synthetic | raw ORT in-process | 1 | 32 | 8000 |", "| CPU µs/req: bench |", "| 151 | - |", "| 1 | 6000 | 10.000 | 20.000 | 0 | 0.75 | 20.00 | - | 88 |", "| share | 75.00 % | >= 70.00 % | met |", "- not measured: Kong path"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{9, 1, 5}, 5}, {[]float64{4, 1, 100, 2}, 3}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestOtherCores(t *testing.T) {
	r := testReport()
	if r.OtherCores() != 0 {
		t.Fatal("no CPU measured must read 0")
	}
	r.Points[0].Cores = map[string]float64{OtherProcs: 0.5}
	r.Points[1].Cores = map[string]float64{OtherProcs: 0.1, "bench": 1}
	if got := r.OtherCores(); got < 0.2999 || got > 0.3001 {
		t.Fatalf("OtherCores = %v, want 0.3", got)
	}
}
