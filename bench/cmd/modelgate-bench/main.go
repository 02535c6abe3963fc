// Command modelgate-bench measures modelgate on this machine in one run,
// on two workloads. Sentences (-suite all): the shipped sentiment model fed
// real review sentences, through `modelgate serve` and the Kong wire
// protocol, beside raw ONNX Runtime in-process fed the same token ids and
// the peers of bench/peers (a lean Go server, Node + onnxruntime-node,
// Flask + TorchScript). Synthetic: the benchmark model fed 64 random ids
// per row, raw, over the sidecar's socket and (with -suite all) through both
// full paths. It prints a table with the ratios, CPU per request of every
// process and the goals, and writes JSON, Markdown and an SVG chart.
//
//	modelgate-bench -suite sidecar            # make bench-sidecar
//	modelgate-bench -suite all -out out       # make bench
//	modelgate-bench -out out -readme README.md  # make bench-readme
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/modelgate/modelgate/bench"
)

func main() {
	var o options
	flag.StringVar(&o.suite, "suite", "all", "what to measure: raw (ORT in-process only), sidecar (+ the sidecar socket) or all (+ serve and Kong paths)")
	flag.StringVar(&o.out, "out", "out", "folder for bench.json, bench.svg and profiles")
	flag.DurationVar(&o.duration, "duration", 4*time.Second, "measuring time per point (after a warm-up)")
	flag.IntVar(&o.rounds, "rounds", 8, "slices each point's time is cut into, the points taken in turn")
	flag.StringVar(&o.modelDir, "model-dir", ".cache/benchmodels", "folder holding the benchmark model (generated when missing)")
	flag.StringVar(&o.binDir, "bin", "bin", "folder with modelgate and modelgate-sidecar")
	flag.StringVar(&o.ortLib, "ort-lib", os.Getenv("ORT_LIB"), "ONNX Runtime shared library")
	flag.BoolVar(&o.profile, "profile", false, "write CPU profiles into -out")
	flag.StringVar(&o.svg, "svg", "", "also write the chart here (e.g. docs/bench.svg)")
	flag.IntVar(&o.threads, "intra-op-threads", 0, "ONNX Runtime intra-op threads, in-process and in every sidecar (0: ONNX Runtime's default in-process, the sidecar's own choice in each sidecar)")
	flag.StringVar(&o.sentimentDir, "sentiment", "deploy/models/sentiment", "the shipped model folder of the sentences workload")
	flag.StringVar(&o.sentimentVersion, "sentiment-version", "1", "the version of -sentiment measured")
	flag.StringVar(&o.sentencesFile, "sentences", "deploy/train/data/heldout.tsv", "the real sentences (a TSV with a text column)")
	peers := flag.String("peers", "lean,node,flask", "peers run beside modelgate on the sentences workload (comma-separated; empty for none): "+
		"lean (the ceiling, Go), node (Node + onnxruntime-node, needs make bench-deps), flask (Flask + TorchScript under gunicorn)")
	flag.StringVar(&o.queueDelay, "max-queue-delay", "", "max_queue_delay of the synthetic batching variant (empty: none, the sidecar's default: a batch goes as soon as the instance is free)")
	readme := flag.String("readme", "", "splice -out's bench.md into this README between its bench markers and copy bench.svg to docs/bench.svg beside it, without measuring (make bench-readme)")
	privacyDetectors := flag.String("privacy-detectors", strings.Join(builtinDetectors, ","), "the detectors of the serve path with privacy on (comma-separated)")
	preferred := flag.String("preferred", "", "preferred_batch_sizes of the synthetic batching variant (comma-separated; empty: none)")
	flag.Parse()
	for _, f := range strings.Split(*preferred, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "modelgate-bench: -preferred: %q is not a batch size\n", f)
			os.Exit(2)
		}
		o.preferred = append(o.preferred, n)
	}
	for _, p := range strings.Split(*peers, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.peers = append(o.peers, p)
		}
	}
	for _, d := range strings.Split(*privacyDetectors, ",") {
		if d = strings.TrimSpace(d); d != "" {
			o.privacyDetectors = append(o.privacyDetectors, d)
		}
	}
	o.command = "modelgate-bench " + strings.Join(os.Args[1:], " ")
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))

	if *readme != "" {
		if err := spliceReadme(*readme, o.out); err != nil {
			fmt.Fprintln(os.Stderr, "modelgate-bench:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "modelgate-bench:", err)
		os.Exit(1)
	}
}

// spliceReadme puts the last run's tables (out/bench.md) into readme and its
// chart (out/bench.svg) into docs/bench.svg next to readme.
func spliceReadme(readme, out string) error {
	md, err := os.ReadFile(filepath.Join(out, "bench.md"))
	if err != nil {
		return fmt.Errorf("no run to splice (make bench first): %w", err)
	}
	text, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	spliced, err := bench.SpliceReadme(text, md)
	if err != nil {
		return fmt.Errorf("%s: %w", readme, err)
	}
	svg, err := os.ReadFile(filepath.Join(out, "bench.svg"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(readme), "docs", "bench.svg"), svg, 0o644); err != nil {
		return err
	}
	return os.WriteFile(readme, spliced, 0o644)
}
