package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/modelgate/modelgate/bench"
	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// kongCases starts the real plugin server (bin/modelgate) as Kong does,
// starts a plugin instance with the serve path's config (auth and quotas
// on, its own sidecar launched on the batching repository) and returns its
// cases at 1, 16 and 64 clients (of both workloads when sent is set), each request one access event on its own
// connection, plus the processes whose CPU the points account.
func kongCases(ctx context.Context, o options, m bench.Model, sent *sentences, repo, tmp string, rep *bench.Report) ([]bench.Case, []bench.Proc, func(), error) {
	nothing := func() {}
	dir, metrics, args, err := o.pathSetup(rep, tmp, "kong", "kong-sidecar.cpu.prof", "the Kong plugin server's sidecar")
	if err != nil {
		return nil, nil, nothing, err
	}
	key, digest := bench.NewAPIKey()
	g := bench.FullPathConfig(abs(filepath.Join(o.binDir, "modelgate-sidecar")), abs(o.ortLib), repo, digest, args...)
	binary := abs(filepath.Join(o.binDir, "modelgate"))
	cfg, err := asKongSendsIt(ctx, binary, g.PluginConfig())
	if err != nil {
		return nil, nil, nothing, err
	}
	logf, err := os.Create(filepath.Join(o.out, "bench-kong.log"))
	if err != nil {
		return nil, nil, nothing, err
	}
	slog.Info("starting the plugin server as Kong does", "binary", binary, "log", logf.Name())
	// The model repository is outside the plugin server's working folder:
	// allowed as an operator would (README, "What the plugin config may do").
	srv, err := kongharness.Start(ctx, binary, kongharness.Options{Dir: dir, Output: logf, Env: bench.AllowFolders(nil, abs(repo))})
	if err != nil {
		logf.Close()
		return nil, nil, nothing, fmt.Errorf("%s: %w", bench.PathKong, err)
	}
	stop := func() { _ = srv.Close(); logf.Close() }
	inst, err := srv.StartInstance(ctx, "modelgate", cfg)
	if err == nil {
		err = bench.WaitKongReady(ctx, srv, inst.ID, 2*time.Minute)
	}
	if err != nil {
		stop()
		return nil, nil, nothing, fmt.Errorf("%s: %w", bench.PathKong, err)
	}
	header := http.Header{"Apikey": {key}}
	var cases []bench.Case
	for _, clients := range []int{1, 16, 64} {
		fn := bench.KongInferFunc(srv, inst.ID, "/v2/models/"+modelBatched+"/infer", header, m, 1, uint64(200+clients))
		cases = append(cases, bench.Case{Path: bench.PathKong, Clients: clients, Batch: 1, Fn: fn,
			Probe: bench.SidecarProbe("http://"+metrics+"/metrics", modelBatched)})
	}
	if sent != nil {
		bodies := bench.TextInferBodies(sent.tok.Input, sent.texts)
		probe := bench.SidecarProbe("http://"+metrics+"/metrics", modelSentiment)
		for _, clients := range []int{1, 16, 64} {
			fn := bench.KongBodiesFunc(srv, inst.ID, sent.inferPath(), header, bodies, 1)
			cases = append(cases, bench.Case{Workload: bench.WorkloadSentences, Path: bench.PathKong, Clients: clients, Batch: 1, Fn: fn, Probe: probe})
		}
	}
	procs := []bench.Proc{{Name: procKong, Pid: srv.Pid()},
		{Name: procKongSidecar, Pid: bench.ChildPid(srv.Pid(), "modelgate-sidecar")}}
	return cases, procs, stop, nil
}

// asKongSendsIt returns config as Kong hands it to the plugin server:
// checked against the schema the binary dumps, every field the config left
// out present as null.
func asKongSendsIt(ctx context.Context, binary string, config map[string]any) (map[string]any, error) {
	info, err := kongharness.Dump(ctx, binary)
	if err != nil {
		return nil, err
	}
	for _, p := range info.Plugins {
		if p.Name != "modelgate" {
			continue
		}
		schema, err := p.ConfigSchema()
		if err != nil {
			return nil, err
		}
		if err := kongharness.CheckConfig(schema, config); err != nil {
			return nil, fmt.Errorf("the benchmark's plugin config fails Kong's schema: %w", err)
		}
		return kongharness.WithKongNulls(schema, config)
	}
	return nil, fmt.Errorf("%s -dump lists no modelgate plugin", binary)
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}
