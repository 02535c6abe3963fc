package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelgate/modelgate/bench"
)

// fullPathCases starts `modelgate serve` (auth and quotas on, the sidecar
// launched by it on the benchmark repository) and returns its cases at 1, 16
// and 64 clients, of both workloads when sent is set.
func fullPathCases(ctx context.Context, o options, m bench.Model, sent *sentences, repo, tmp string, rep *bench.Report) ([]bench.Case, *bench.Serve, func(), error) {
	nothing := func() {}
	dir, metrics, args, err := o.pathSetup(rep, tmp, "serve", "serve-sidecar.cpu.prof", "modelgate serve's sidecar")
	if err != nil {
		return nil, nil, nothing, err
	}
	var extra []string
	if o.profile {
		// Only if serve has the flag: a profile is worth less than the run.
		help, _ := exec.Command(abs(filepath.Join(o.binDir, "modelgate")), "serve", "--help").CombinedOutput()
		if strings.Contains(string(help), "cpuprofile") {
			prof := abs(filepath.Join(o.out, "serve.cpu.prof"))
			extra = append(extra, "--cpuprofile", prof)
			rep.Profiles = append(rep.Profiles, prof+" (modelgate serve)")
		} else {
			rep.NotDone = append(rep.NotDone, "CPU profile of modelgate serve: it has no --cpuprofile flag (only the benchmark process is profiled)")
		}
	}
	s, header, stop, err := o.launchServe(ctx, rep, bench.PathServe, dir, repo, "bench-serve.log", nil, args, extra...)
	if s == nil {
		return nil, nil, nothing, err
	}
	var cases []bench.Case
	for _, clients := range []int{1, 16, 64} {
		fn := bench.HTTPInferFunc(bench.NewHTTPClient(clients), s.URL+"/v2/models/"+modelBatched+"/infer", header, m, 1, uint64(100+clients))
		cases = append(cases, bench.Case{Path: bench.PathServe, Clients: clients, Batch: 1, Fn: fn,
			Probe: bench.SidecarProbe("http://"+metrics+"/metrics", modelBatched)})
	}
	if sent != nil {
		cases = append(cases, sent.httpCases(bench.PathServe, []int{1, 16, 64}, s.URL, header, bench.SidecarProbe("http://"+metrics+"/metrics", modelSentiment))...)
	}
	return cases, s, stop, nil
}

// launchServe writes dir/kong.yml, the full paths' config plus extra (a
// plugin config section, or nil), with sidecarArgs for the sidecar it
// launches on repo, and starts modelgate serve with serveArgs on a free
// address, its log in o.out/logName. It returns serve, the header with the
// config's API key and how to stop both. When serve does not start, the
// path is reported as not measured and serve is nil with a nil error:
// the run goes on without it.
func (o options) launchServe(ctx context.Context, rep *bench.Report, path, dir, repo, logName string, extra map[string]any,
	sidecarArgs []string, serveArgs ...string) (*bench.Serve, http.Header, func(), error) {
	nothing := func() {}
	cfg, key, err := bench.WriteServeConfigWith(dir, abs(filepath.Join(o.binDir, "modelgate-sidecar")), abs(o.ortLib), repo, extra, sidecarArgs...)
	if err != nil {
		return nil, nil, nothing, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, nil, nothing, err
	}
	logf, err := os.Create(filepath.Join(o.out, logName))
	if err != nil {
		return nil, nil, nothing, err
	}
	slog.Info("starting modelgate serve", "path", path, "addr", addr, "log", logf.Name())
	s, err := bench.StartServe(ctx, abs(filepath.Join(o.binDir, "modelgate")), cfg, addr, dir, []string{abs(repo)}, logf, 2*time.Minute, serveArgs...)
	if err != nil {
		logf.Close()
		rep.NotDone = append(rep.NotDone, fmt.Sprintf("%s: %v (see %s)", path, err, logf.Name()))
		slog.Error("a serve path is not measured", "path", path, "err", err)
		return nil, nil, nothing, nil
	}
	return s, http.Header{"Apikey": {key}}, func() { s.Stop(); logf.Close() }, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// pathSetup makes a full path's folder under tmp and the flags of the
// sidecar it launches: metrics on a free port (the bench reads the sidecar's
// own view from them) and, with -profile, a CPU profile named profile.
func (o options) pathSetup(rep *bench.Report, tmp, name, profile, what string) (dir, metricsAddr string, sidecarArgs []string, err error) {
	dir = filepath.Join(tmp, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", nil, err
	}
	metricsAddr, err = freeAddr()
	if err != nil {
		return "", "", nil, err
	}
	args := append(o.sidecarArgs(), "--metrics-addr", metricsAddr)
	return dir, metricsAddr, append(args, o.sidecarProfile(rep, profile, what)...), nil
}
