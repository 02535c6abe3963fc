package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/bench"
	"github.com/modelgate/modelgate/internal/testutil"
)

// TestWholeRunInMiniature runs `make bench`'s command end to end with
// short points: the model generated, the real sidecar, `modelgate serve` and
// the Kong plugin server started, every path of both workloads measured
// (profiled, as with PROFILE=1), the lean Go peer built and run beside them
// on the shipped sentiment model, and the JSON, Markdown, SVG and profiles
// written. The Node and Flask peers need `make bench-deps` (python3-torch is
// no test dependency), so this run asks only for the lean peer.
// It checks what was measured and written, never how fast.
func TestWholeRunInMiniature(t *testing.T) {
	lib := testutil.ORTLib(t)
	sidecar := testutil.Binary(t, "modelgate-sidecar")
	gateway := testutil.Binary(t, "modelgate")
	if filepath.Dir(sidecar) != filepath.Dir(gateway) {
		t.Fatalf("binaries in different folders: %s, %s", sidecar, gateway)
	}
	t.Chdir(testutil.RepoRoot()) // the model generator's path is relative to the repository
	out, svg := t.TempDir(), filepath.Join(t.TempDir(), "docs", "bench.svg")
	o := options{
		suite: "all", out: out, modelDir: filepath.Join(t.TempDir(), "models"), binDir: filepath.Dir(sidecar),
		ortLib: lib, svg: svg, command: "test", duration: 300 * time.Millisecond, rounds: 1,
		profile:      true, // the batching variant as make bench has it: no max_queue_delay, no preferred sizes
		sentimentDir: "deploy/models/sentiment", sentimentVersion: "1", sentencesFile: "deploy/train/data/heldout.tsv",
		peers: []string{peerLean}, privacyDetectors: builtinDetectors,
	}
	if err := run(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(out, "bench.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, p := range rep.Points {
		count[p.Workload+": "+p.Path]++
		if p.Requests == 0 || errorsIn(p) > 0 {
			t.Errorf("%s (%d clients, rate %.0f): %d requests, errors %v", p.Path, p.Clients, p.Rate, p.Requests, p.Errors)
		}
	}
	syn, sen := bench.WorkloadSynthetic+": ", bench.WorkloadSentences+": "
	want := map[string]int{
		syn + bench.PathRaw: 4, syn + bench.PathSidecarRPC: 1, syn + bench.PathSidecar: 3, syn + bench.PathSidecarBatched: 3,
		syn + bench.PathServe: 3, syn + bench.PathKong: 3, syn + bench.PathServeOpen: 3,
		sen + bench.PathRaw: 3, sen + bench.PathServe: 3, sen + bench.PathServePrivacy: 2, sen + bench.PathKong: 3, sen + bench.PathLean: 3,
	}
	for path, n := range want {
		if count[path] != n {
			t.Errorf("%d points of %s, want %d", count[path], path, n)
		}
	}
	if len(count) != len(want) {
		t.Errorf("points of %v, want only %v", count, want)
	}
	// Issue 2's and 6's six on the synthetic workload; issue 10's (b) and
	// (c) for both full paths ((a) needs the Node peer).
	if len(rep.Goals) != 10 {
		t.Errorf("%d goals, want 10: %+v", len(rep.Goals), rep.Goals)
	}
	for _, path := range []string{bench.PathServe, bench.PathKong} {
		p, ok := rep.FindIn(bench.WorkloadSentences, path, 64)
		if !ok || p.Server == nil || p.Server.ORTCPUMicros <= 0 || p.Server.MeanBatch < 1 {
			t.Errorf("sentences: %s at 64 clients lacks the sidecar's view or its CPU inside ONNX Runtime: %+v", path, p)
		}
	}
	if p, _ := rep.FindIn(bench.WorkloadSentences, bench.PathServe, 64); p.CPUMicros[procServe] <= 0 || p.CPUMicros[procServeSidecar] <= 0 {
		t.Errorf("sentences: serve at 64 clients lacks CPU per request of serve and its sidecar: %v", p.CPUMicros)
	}
	if p, _ := rep.FindIn(bench.WorkloadSentences, bench.PathServePrivacy, 64); p.CPUMicros[procServePrivacy] <= 0 {
		t.Errorf("sentences: serve with privacy on at 64 clients lacks its CPU per request: %v", p.CPUMicros)
	}
	if p, _ := rep.FindIn(bench.WorkloadSentences, bench.PathLean, 64); p.CPUMicros["peer "+peerLean] <= 0 {
		t.Errorf("sentences: the lean peer at 64 clients lacks its CPU per request: %v", p.CPUMicros)
	}
	if p, ok := rep.Find(bench.PathServe, 64); !ok || p.Server == nil || p.Server.MeanBatch < 1 || p.Cores["serve"] <= 0 {
		t.Errorf("serve at 64 clients lacks the sidecar's view or its CPU: %+v", p)
	}
	if p, ok := rep.Find(bench.PathKong, 64); !ok || p.Server == nil || p.Server.MeanBatch < 1 || p.Cores["kong plugin server"] <= 0 {
		t.Errorf("the Kong path at 64 clients lacks the sidecar's view or the plugin server's CPU: %+v", p)
	}
	// make bench PROFILE=1: the benchmark process, serve and the three
	// sidecars, each complete once run has stopped them.
	if len(rep.Profiles) != 5 {
		t.Errorf("profiles %v, want 5", rep.Profiles)
	}
	for _, p := range rep.Profiles {
		file, _, _ := strings.Cut(p, " (")
		if st, err := os.Stat(file); err != nil || st.Size() == 0 {
			t.Errorf("profile %s not written: %v", p, err)
		}
	}
	for _, f := range []string{filepath.Join(out, "bench.md"), filepath.Join(out, "bench.svg"), svg} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "bench.md"))
	for _, row := range []string{
		"| synthetic | modelgate serve (HTTP, auth, quotas) | 64 |", "| synthetic | Kong plugin server (wire protocol) | 64 |",
		"| sentences | modelgate serve (HTTP, auth, quotas) | 64 |", "| sentences | " + bench.PathServePrivacy + " | 64 |",
		"| sentences | " + bench.PathLean + " | 64 |",
	} {
		if !strings.Contains(string(md), row) {
			t.Errorf("bench.md lacks the row %q:\n%s", row, md)
		}
	}
}

func errorsIn(p bench.Point) int64 {
	var n int64
	for _, c := range p.Errors {
		n += c
	}
	return n
}
