package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"

	"github.com/modelgate/modelgate/internal/goruntime"
	"github.com/modelgate/modelgate/shared"
	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/sidecar/internal/metrics"
	"github.com/modelgate/modelgate/sidecar/internal/ort"
	"github.com/modelgate/modelgate/sidecar/internal/repository"
	"github.com/modelgate/modelgate/sidecar/internal/server"
)

// shutdownTimeout bounds the drain on SIGTERM: in-flight requests finish
// within their own deadlines, this is the backstop.
const shutdownTimeout = 30 * time.Second

// serve runs the sidecar until a signal (standalone) or the plugin host
// ends it, and returns the exit code.
func serve(f *flags) int {
	pluginMode := f.socket == ""
	if pluginMode && os.Getenv(shared.Handshake.MagicCookieKey) != shared.Handshake.MagicCookieValue {
		fmt.Fprintf(os.Stderr, `modelgate-sidecar: no --socket given, and not launched by the modelgate plugin server.
  Run it standalone:  modelgate-sidecar --models %s --socket /run/modelgate/sidecar.sock
  or let the plugin server launch it (sidecar.mode: launch in kong.yml).
`, f.models)
		return 2
	}
	level, _ := parseLevel(f.logLevel)
	// Captured before go-plugin swaps os.Stderr: this is the real stderr the
	// plugin host reads log lines from.
	stderr := os.Stderr
	profileDone := func() {}
	log := newLogger(stderr, level, pluginMode)
	if f.cpuProfile != "" {
		stopProfile, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			log.Error("cannot write the CPU profile", "error", err)
			return 1
		}
		// Stopped as soon as serving ends too (below), so the profile is
		// complete even if the host kills the process during the unload.
		defer stopProfile()
		profileDone = stopProfile
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Set up before the (possibly long) first load, so that a SIGTERM then
	// still ends in a clean drain.
	signals := make(chan os.Signal, 1)
	// Launched by go-plugin, SIGINT belongs to the host (a Ctrl+C in its
	// terminal reaches the whole process group; go-plugin ignores it here and
	// the host stops the sidecar itself). SIGTERM always drains.
	if pluginMode {
		signal.Notify(signals, syscall.SIGTERM)
		go watchParent(ctx, signals, log)
	} else {
		signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	}
	if !pluginMode {
		lock, err := lockSocket(f.socket)
		if errors.Is(err, errSocketTaken) {
			log.Error("not starting: another modelgate-sidecar serves this socket or is starting to", "socket", f.socket)
			return exitSocketTaken
		}
		if err != nil {
			log.Error("cannot lock the socket", "socket", f.socket, "error", err)
			return 1
		}
		defer lock.Close()
	}
	if err := ort.Init(f.ortLib); err != nil {
		log.Error("cannot load ONNX Runtime (set --ort-lib or $ORT_LIB)", "error", err)
		return 1
	}
	if st, err := os.Stat(f.models); err != nil || !st.IsDir() {
		log.Error("--models is not a readable folder", "models", f.models, "error", err)
		return 1
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)
	// A shared sidecar the plugin server launched under Kong serves on a
	// socket, yet shares the cores with the gateway like a go-plugin child.
	// The plan reads the cores from GOMAXPROCS before Apply halves it.
	plan := threadPlan(f, pluginMode || f.besideGateway, log)
	goruntime.Apply(plan.SharesWithGateway).Log(log)
	syncer, syncErr := f.registry.syncer(f.models, reg, log)
	if syncErr != nil {
		log.Error("cannot use the registry", "error", syncErr)
		return 1
	}
	repoOpts := repository.Options{Dir: f.models, IntraOpThreads: plan.IntraOpThreads, NoSpinning: !plan.Spinning,
		Instances: plan.Instances, MaxElements: f.maxElements, RequireBoundModels: f.requireBound,
		KeyDirs: filepath.SplitList(f.keyDirs), Metrics: m, Logger: log}
	if syncer != nil {
		repoOpts.Origins = syncer
	}
	repo := repository.New(repoOpts)
	if syncer != nil {
		// A registry that is down leaves the versions pulled before: they serve.
		_, _ = syncer.Sync(ctx, repo)
		go syncer.Run(ctx, f.registry.interval, repo)
	}
	log.Info("loading model repository", "models", f.models, "onnxruntime", ort.Version())
	if err := repo.Poll(ctx); err != nil {
		log.Error("cannot read the model repository", "error", err)
		return 1
	}
	if f.pollInterval > 0 {
		go repo.Run(ctx, f.pollInterval)
	}
	srv := server.New(repo, m, f.maxElements, log)
	srv.LimitMessages(f.maxMessageBytes)
	if f.metricsAddr != "" {
		// srv, not repo, answers readiness: it turns false once draining.
		stop, err := metrics.Serve(ctx, f.metricsAddr, metrics.Handler(reg, srv), log)
		if err != nil {
			log.Error("cannot serve metrics", "error", err)
			return 1
		}
		defer stop()
	}

	grpcOpts := append([]grpc.ServerOption{grpc.MaxRecvMsgSize(f.maxMessageBytes), grpc.MaxSendMsgSize(f.maxMessageBytes), buildCheck()},
		server.Recover(log)...)
	if f.idleExit > 0 {
		clients := newClientCounter()
		grpcOpts = append(grpcOpts, grpc.StatsHandler(clients))
		go watchIdle(ctx, clients, f.idleExit, f.socket, signals, log)
	}
	var err error
	grpcOpts = append(grpcOpts, flowControl(f.maxMessageBytes)...)
	grpcOpts = append(grpcOpts, streamWorkerPool())
	if pluginMode {
		err = servePlugin(srv, grpcOpts, signals, newHCLogger(stderr, level), log)
	} else {
		err = serveSocket(f.socket, srv, grpcOpts, signals, log)
	}
	profileDone()
	cancel()
	drainCtx, done := context.WithTimeout(context.Background(), shutdownTimeout)
	defer done()
	if cerr := repo.Close(drainCtx); cerr != nil {
		log.Warn("unloading models", "error", cerr)
	}
	if err != nil {
		log.Error("sidecar stopped", "error", err)
		return 1
	}
	log.Info("sidecar stopped")
	return 0
}

// inferenceServer is the service plus the drain a shutdown needs.
type inferenceServer interface {
	pb.InferenceServer
	drainer
}

// drainer is the part of the server a shutdown needs.
type drainer interface {
	Drain(ctx context.Context) error
}

// shutdown refuses new inference requests, waits for those in flight (up
// to shutdownTimeout), then stops the gRPC server.
func shutdown(d drainer, s *grpc.Server, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := d.Drain(ctx); err != nil {
		log.Warn("in-flight requests did not finish in time; stopping anyway", "error", err)
	}
	// GracefulStop lets the last answers flush; under go-plugin it would
	// also wait for the host's stdio stream, hence the bound.
	stopped := make(chan struct{})
	go func() {
		s.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(2 * time.Second):
		s.Stop()
	}
}
