package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/modelgate/modelgate/bench"
)

// The sentences workload: the shipped sentiment model, one version, fed
// real review sentences as text, as `make run` serves it.
const (
	modelSentiment = "sentiment"
)

// The peers -peers can name.
const (
	peerLean  = "lean"
	peerNode  = "node"
	peerFlask = "flask"
)

// sentences is the real workload's model and input, shared by every path.
type sentences struct {
	dir, version string
	tok          *bench.Tokenizer
	texts        []string
}

func loadSentences(o options) (*sentences, error) {
	tok, err := bench.LoadTokenizer(o.sentimentDir)
	if err != nil {
		return nil, err
	}
	texts, err := bench.ReadSentences(o.sentencesFile)
	if err != nil {
		return nil, err
	}
	return &sentences{dir: o.sentimentDir, version: o.sentimentVersion, tok: tok, texts: texts}, nil
}

func (s *sentences) modelPath() string { return filepath.Join(s.dir, s.version, "model.onnx") }

// inferPath is the Open Inference Protocol route of the measured version.
func (s *sentences) inferPath() string {
	return "/v2/models/" + modelSentiment + "/versions/" + s.version + "/infer"
}

// copyInto lays the model folder out under repo as modelSentiment with only
// the measured version: its shipped config.yaml, vocabulary and labels as they are.
func (s *sentences) copyInto(repo string) error {
	return bench.CopyModelVersion(s.dir, filepath.Join(repo, modelSentiment), s.version)
}

// rawCases are raw ONNX Runtime in-process on the measured version, with its
// default session options, fed the token ids the sidecar would make: batch 1
// for latency and larger batches, the best of which is the throughput limit.
func (s *sentences) rawCases(rt *bench.ORT, threads int) ([]bench.Case, func(), error) {
	m, err := rt.Inspect(bench.Model{Path: s.modelPath(), SeqLen: s.tok.MaxLength})
	if err != nil {
		return nil, func() {}, err
	}
	sess, err := rt.Session(m, threads)
	if err != nil {
		return nil, func() {}, err
	}
	var cases []bench.Case
	for _, b := range []int{1, 8, 32} {
		fn, err := sess.TextFunc(b, s.tok, s.texts)
		if err != nil {
			sess.Close()
			return nil, func() {}, err
		}
		cases = append(cases, bench.Case{Workload: bench.WorkloadSentences, Path: bench.PathRaw, Clients: 1, Batch: b, Fn: fn})
	}
	return cases, sess.Close, nil
}

// peerCases starts the peers named in o.peers, each answering the measured
// version's sentences over HTTP, and returns their cases at 1, 16 and 64
// clients and their processes. A peer that cannot start is reported as not
// measured; the run goes on without it.
func peerCases(ctx context.Context, o options, s *sentences, tmp string, rep *bench.Report) ([]bench.Case, []bench.Proc, func()) {
	var cases []bench.Case
	var procs []bench.Proc
	var stops []func()
	stopAll := func() {
		for _, stop := range slices.Backward(stops) {
			stop()
		}
	}
	bodies := bench.PeerBodies(s.texts)
	for _, name := range o.peers {
		addr, err := freeAddr()
		if err != nil {
			rep.NotDone = append(rep.NotDone, fmt.Sprintf("peer %s: %v", name, err))
			continue
		}
		path, argv, dir, env, err := peerCommand(ctx, o, s, name, addr, tmp)
		if err != nil {
			rep.NotDone = append(rep.NotDone, fmt.Sprintf("%s: %v", path, err))
			slog.Error("a peer is not measured", "peer", name, "err", err)
			continue
		}
		logf, err := os.Create(filepath.Join(o.out, "bench-peer-"+name+".log"))
		if err != nil {
			rep.NotDone = append(rep.NotDone, fmt.Sprintf("%s: %v", path, err))
			continue
		}
		slog.Info("starting a peer", "peer", name, "addr", addr, "log", logf.Name())
		p, err := bench.StartPeer(ctx, argv, dir, env, "http://"+addr, logf, 2*time.Minute)
		if err != nil {
			logf.Close()
			rep.NotDone = append(rep.NotDone, fmt.Sprintf("%s: %v", path, err))
			slog.Error("a peer is not measured", "peer", name, "err", err)
			continue
		}
		stops = append(stops, func() { p.Stop(); logf.Close() })
		for _, clients := range []int{1, 16, 64} {
			fn := bench.HTTPBodiesFunc(bench.NewHTTPClient(clients), p.URL+"/predict", nil, bodies, 1, `"label"`)
			cases = append(cases, bench.Case{Workload: bench.WorkloadSentences, Path: path, Clients: clients, Batch: 1, Fn: fn})
		}
		procs = append(procs, bench.Proc{Name: "peer " + name, Pid: p.Pid(), Tree: name == peerFlask})
	}
	return cases, procs, stopAll
}

// peerCommand is how peer name is started: its path label, command line,
// working folder and environment.
func peerCommand(ctx context.Context, o options, s *sentences, name, addr, tmp string) (path string, argv []string, dir string, env []string, err error) {
	_, port, _ := strings.Cut(addr, ":")
	switch name {
	case peerLean:
		bin := filepath.Join(tmp, "lean")
		build := exec.CommandContext(ctx, goTool(), "build", "-o", bin, "./bench/peers/lean")
		if out, err := build.CombinedOutput(); err != nil {
			return bench.PathLean, nil, "", nil, fmt.Errorf("building bench/peers/lean: %v: %s", err, out)
		}
		return bench.PathLean, []string{bin, "-model-dir", abs(s.dir), "-version", s.version, "-ort-lib", abs(o.ortLib), "-listen", addr}, "", nil, nil
	case peerNode:
		dir := abs(filepath.Join("bench", "peers", "node"))
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "onnxruntime-node")); err != nil {
			return bench.PathNode, nil, "", nil, fmt.Errorf("onnxruntime-node is not installed in %s (make bench-deps)", dir)
		}
		return bench.PathNode, []string{"node", "server.js", abs(s.dir), s.version, port}, dir, nil, nil
	case peerFlask:
		dir := abs(filepath.Join("bench", "peers", "flask"))
		return bench.PathFlask, []string{"gunicorn", "-w", "2", "-b", addr, "app:app"}, dir, []string{"MODEL_DIR=" + abs(s.dir)}, nil
	}
	return name, nil, "", nil, fmt.Errorf("unknown peer %q (want %s, %s or %s)", name, peerLean, peerNode, peerFlask)
}

// goTool is the go command that builds the lean peer: the one on PATH, else
// the toolchain this program was built with.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// httpCases are a serve path's cases of the sentences workload at each
// number of clients.
func (s *sentences) httpCases(path string, clientCounts []int, url string, header http.Header, probe func() map[string]float64) []bench.Case {
	bodies := bench.TextInferBodies(s.tok.Input, s.texts)
	var cases []bench.Case
	for _, clients := range clientCounts {
		fn := bench.HTTPBodiesFunc(bench.NewHTTPClient(clients), url+s.inferPath(), header, bodies, 1, `"outputs"`)
		cases = append(cases, bench.Case{Workload: bench.WorkloadSentences, Path: path, Clients: clients, Batch: 1, Fn: fn, Probe: probe})
	}
	return cases
}
