package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/modelgate/modelgate/bench"
	"github.com/modelgate/modelgate/bench/load"
)

type options struct {
	suite, out, modelDir, binDir, ortLib, svg, command string
	duration                                           time.Duration
	profile                                            bool
}

// The two sidecar variants: same model, batching off and on.
const (
	modelPlain   = "classifier"
	modelBatched = "classifier_batched"
)

func run(ctx context.Context, o options) error {
	if o.ortLib == "" {
		return fmt.Errorf("no ONNX Runtime library: set -ort-lib or ORT_LIB (make ort)")
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	if o.profile {
		stopProfile, err := profileSelf(filepath.Join(o.out, "bench-generator.cpu.prof"))
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	modelPath, err := ensureModel(ctx, o.modelDir)
	if err != nil {
		return err
	}
	rep := &bench.Report{Started: time.Now().UTC(), Command: o.command, Machine: bench.ThisMachine()}
	if o.profile {
		rep.Profiles = append(rep.Profiles, filepath.Join(o.out, "bench-generator.cpu.prof"))
	}

	m, err := measureRaw(ctx, o, modelPath, rep)
	if err != nil {
		return err
	}
	rep.Model = fmt.Sprintf("%s: INT64 %s [batch, %d] -> FP32 %s [batch, %d]", modelPath, m.Input, m.SeqLen, m.Output, m.Classes)

	if o.suite == "raw" {
		return finish(o, rep)
	}
	tmp, err := os.MkdirTemp("", "modelgate-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	repo := filepath.Join(tmp, "models")
	if err := bench.WriteRepository(repo, m, []bench.Variant{
		{Name: modelPlain, MaxBatchSize: 128},
		{Name: modelBatched, MaxBatchSize: 64, Batching: &bench.Batching{MaxQueueDelay: "2ms", PreferredSizes: []int{16, 32, 64}}},
	}); err != nil {
		return err
	}
	if err := measureSidecar(ctx, o, m, repo, tmp, rep); err != nil {
		return err
	}
	if o.suite == "all" {
		if err := measureFullPaths(ctx, o, m, repo, tmp, rep); err != nil {
			return err
		}
	}

	return finish(o, rep)
}

func finish(o options, rep *bench.Report) error {
	rep.Relate()
	addGoals(rep, o.suite)
	rep.WriteTable(os.Stdout)
	jsonPath := filepath.Join(o.out, "bench.json")
	if o.suite != "all" {
		jsonPath = filepath.Join(o.out, "bench-"+o.suite+".json")
	}
	if err := rep.WriteJSON(jsonPath); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s\n", jsonPath)
	if o.suite == "all" {
		for _, p := range []string{filepath.Join(o.out, "bench.svg"), o.svg} {
			if p == "" {
				continue
			}
			if err := bench.WriteSVG(p, rep); err != nil {
				return err
			}
			fmt.Printf("wrote %s\n", p)
		}
	}
	return nil
}

func measureRaw(ctx context.Context, o options, modelPath string, rep *bench.Report) (bench.Model, error) {
	rt, err := bench.OpenORT(o.ortLib)
	if err != nil {
		return bench.Model{}, err
	}
	defer rt.Close()
	m, err := rt.Inspect(bench.Model{Path: modelPath})
	if err != nil {
		return m, err
	}
	slog.Info("measuring raw ONNX Runtime in-process", "batches", "1,8,32,128")
	points, err := rt.MeasureRaw(ctx, m, []int{1, 8, 32, 128}, o.duration, 0)
	if err != nil {
		return m, err
	}
	rep.Points = append(rep.Points, points...)
	return m, nil
}

func measureSidecar(ctx context.Context, o options, m bench.Model, repo, tmp string, rep *bench.Report) error {
	logf, err := os.Create(filepath.Join(o.out, "bench-sidecar.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	slog.Info("starting the sidecar", "models", repo)
	sc, err := bench.StartSidecar(ctx, filepath.Join(o.binDir, "modelgate-sidecar"), o.ortLib, repo, tmp, logf)
	if err != nil {
		return err
	}
	defer sc.Stop()
	for _, c := range []struct {
		path, model string
		clients     int
	}{
		{bench.PathSidecar, modelPlain, 1},
		{bench.PathSidecar, modelPlain, 64},
		{bench.PathSidecarBatched, modelBatched, 64},
	} {
		slog.Info("measuring the sidecar", "model", c.model, "clients", c.clients)
		fn := bench.InferFunc(sc.Client, c.model, m, 1, uint64(c.clients))
		p, err := measure(ctx, c.path, c.clients, o.duration, fn)
		if err != nil {
			return err
		}
		rep.Points = append(rep.Points, p)
	}
	return nil
}

// measure warms fn up, then runs it closed-loop with clients single-item clients.
func measure(ctx context.Context, path string, clients int, d time.Duration, fn load.Func) (bench.Point, error) {
	warm := load.Closed{Clients: clients, Duration: min(d/4, time.Second), Timeout: 10 * time.Second}.Run(ctx, fn)
	if warm.Requests == 0 || warm.ErrorCount() == warm.Requests {
		return bench.Point{}, fmt.Errorf("%s at %d clients: every warm-up request failed: %v", path, clients, warm.Errors)
	}
	r := load.Closed{Clients: clients, Duration: d, Timeout: 10 * time.Second}.Run(ctx, fn)
	if ctx.Err() != nil {
		return bench.Point{}, ctx.Err()
	}
	return bench.Point{Path: path, Clients: clients, Batch: 1, Summary: r.Summarize()}, nil
}

func addGoals(rep *bench.Report, suite string) {
	_, b1 := rep.RawBest()
	if p, ok := rep.Find(bench.PathSidecar, 1); ok {
		rep.AddGoal("sidecar socket adds to p50 at batch 1 (issue 2)", p.P50Micros-b1.P50Micros, 150, "us", true)
	}
	if p, ok := rep.Find(bench.PathSidecarBatched, 64); ok {
		rep.AddGoal("sidecar 64 clients batched, items/s over raw best (issue 2)", 100*p.ItemsRatio, 80, "%", false)
	}
	if suite != "all" {
		return
	}
	for _, path := range []string{bench.PathServe, bench.PathKong} {
		if p, ok := rep.Find(path, 64); ok {
			rep.AddGoal(path+" 64 clients, items/s over raw best (issue 6)", 100*p.ItemsRatio, 70, "%", false)
		}
		if p, ok := rep.Find(path, 1); ok {
			rep.AddGoal(path+" 1 client, p50 added over raw batch 1 (issue 6)", p.P50AddedMicros/1000, 0.5, "ms", true)
		}
	}
}

func profileSelf(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
