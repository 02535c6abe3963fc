// Command modelgate-measure compares versions of a text classifier in the
// model repository under ONNX Runtime, the way the sidecar runs them: the
// sidecar's own tokenizer and session code, in process, no gateway. It prints
// one markdown table: file size, resident memory after load, held-out
// accuracy, agreement with the first version item by item, and items/s and
// p50 latency at batch 1 and 32; with -bin, also held-out accuracy, items/s
// and p50 through `modelgate serve` (its own kong.yml, one consumer, the
// sidecar launched over its socket), one request at a time.
//
//	go run ./sidecar/cmd/modelgate-measure -lib $ORT_LIB -versions 2,3 -bin bin
//
// The versions are measured alternately (v2, v3, v2, v3, ...) for -rounds
// rounds and each speed figure is the median over rounds, so that a shared,
// noisy machine slows every version alike. Memory is measured in a child
// process per version (this program run again with -rss), so one version's
// arena does not count against the next.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/shared/tensor"
	"github.com/modelgate/modelgate/sidecar/internal/config"
	"github.com/modelgate/modelgate/sidecar/internal/ort"
	"github.com/modelgate/modelgate/sidecar/internal/textproc"
)

type flags struct {
	lib, models, heldout, versions string
	bin                            string
	rounds, threads                int
	rss                            string
}

func main() {
	var f flags
	flag.StringVar(&f.lib, "lib", os.Getenv("ORT_LIB"), "ONNX Runtime shared library")
	flag.StringVar(&f.models, "models", "deploy/models/sentiment", "the model's folder (config.yaml, version folders)")
	flag.StringVar(&f.heldout, "heldout", "deploy/train/data/heldout.tsv", "labelled sentences: source, label (0/1), text")
	flag.StringVar(&f.versions, "versions", "2,3", "versions to compare; the first is the reference for agreement")
	flag.IntVar(&f.rounds, "rounds", 5, "alternating rounds over all versions")
	flag.IntVar(&f.threads, "threads", 0, "ONNX Runtime intra-op threads (0: its default)")
	flag.StringVar(&f.bin, "bin", "", "folder with modelgate and modelgate-sidecar: also measure through `modelgate serve`")
	flag.StringVar(&f.rss, "rss", "", "internal: load this version, print resident memory in bytes and exit")
	flag.Parse()
	if err := run(f, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "modelgate-measure:", err)
		os.Exit(1)
	}
}

// version is one loaded model version and what was measured of it.
type version struct {
	name      string
	bytes     int64
	rss       int64
	session   *ort.Session
	labels1   []int // batch 1
	labels32  []int // batches of 32
	perRound  map[int][]runStats
	agreement float64
	// Through modelgate serve (with -bin): accuracy in requests of 32,
	// speeds per round by batch size.
	serveAccuracy float64
	servePerRound map[int][]runStats
}

type runStats struct{ itemsPerSecond, p50 float64 }

func run(f flags, w io.Writer) error {
	if err := ort.Init(f.lib); err != nil {
		return err
	}
	cfg, err := config.Load(filepath.Join(f.models, "config.yaml"))
	if err != nil {
		return err
	}
	if cfg.Preprocess.Text == nil {
		return fmt.Errorf("%s: no preprocess.text: not a text classifier", f.models)
	}
	tok, err := textproc.NewTokenizer(*cfg.Preprocess.Text, f.models)
	if err != nil {
		return err
	}
	opts := ort.Options{IntraOpThreads: f.threads}
	if f.rss != "" {
		return printRSS(filepath.Join(f.models, f.rss, "model.onnx"), opts)
	}
	texts, labels, err := readHeldout(f.heldout)
	if err != nil {
		return err
	}
	var versions []*version
	for _, name := range strings.Split(f.versions, ",") {
		path := filepath.Join(f.models, name, "model.onnx")
		model, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		v := &version{name: name, bytes: int64(len(model)), perRound: map[int][]runStats{}, servePerRound: map[int][]runStats{}}
		if v.rss, err = childRSS(f, name); err != nil {
			return err
		}
		if v.session, err = ort.NewSession(model, opts, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
			return fmt.Errorf("version %s: %w", name, err)
		}
		defer v.session.Close()
		versions = append(versions, v)
	}
	ctx := context.Background()
	for _, v := range versions {
		if v.labels1, err = classify(ctx, v.session, tok, texts, 1); err != nil {
			return err
		}
		if v.labels32, err = classify(ctx, v.session, tok, texts, 32); err != nil {
			return err
		}
		v.agreement = agreement(v.labels1, versions[0].labels1)
	}
	var gw *gateway
	if f.bin != "" {
		if cfg.Postprocess.Classify == nil {
			return fmt.Errorf("%s: no postprocess.classify: labels needed to measure through modelgate serve", f.models)
		}
		if gw, err = startGateway(f.bin, f.models); err != nil {
			return err
		}
		defer gw.stop()
		for _, v := range versions {
			if v.serveAccuracy, err = gw.serveAccuracy(ctx, v.name, texts, labels, cfg.Postprocess.Classify.Labels); err != nil {
				return err
			}
		}
	}
	for round := 0; round < f.rounds; round++ {
		for _, v := range versions {
			for _, batch := range []int{1, 32} {
				s, err := speed(ctx, v.session, tok, texts, batch)
				if err != nil {
					return err
				}
				v.perRound[batch] = append(v.perRound[batch], s)
			}
		}
		if gw == nil {
			continue
		}
		for _, v := range versions {
			for _, batch := range []int{1, 32} {
				s, err := gw.serveSpeed(ctx, v.name, texts, batch)
				if err != nil {
					return err
				}
				v.servePerRound[batch] = append(v.servePerRound[batch], s)
			}
		}
	}
	fmt.Fprintf(w, "ONNX Runtime %s on %s (%d CPUs), %d held-out sentences, %d alternating rounds (medians), intra-op threads %s\n\n",
		ort.Version(), cpuModel(), runtime.NumCPU(), len(texts), f.rounds, threadsName(f.threads))
	fmt.Fprintln(w, "| version | model.onnx | resident memory after load | held-out accuracy (batch 1 / 32) | same label as v"+versions[0].name+" | batch 1: items/s, p50 | batch 32: items/s, p50 |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- |")
	for _, v := range versions {
		b1, b32 := median(v.perRound[1]), median(v.perRound[32])
		fmt.Fprintf(w, "| %s | %s (%.1f%%) | %.1f MiB | %.4f / %.4f | %.4f | %.0f, %.3f ms | %.0f, %.2f ms |\n",
			v.name, mb(v.bytes), 100*float64(v.bytes)/float64(versions[0].bytes), float64(v.rss)/(1<<20),
			accuracy(v.labels1, labels), accuracy(v.labels32, labels), v.agreement,
			b1.itemsPerSecond, b1.p50*1e3, b32.itemsPerSecond, b32.p50*1e3)
	}
	if gw != nil {
		fmt.Fprintln(w, "\nThrough `modelgate serve` (one client, one request at a time, the sidecar over its socket; API key auth and quotas on):")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| version | held-out accuracy (requests of 32) | batch 1: items/s, p50 | batch 32: items/s, p50 |")
		fmt.Fprintln(w, "| --- | --- | --- | --- |")
		for _, v := range versions {
			b1, b32 := median(v.servePerRound[1]), median(v.servePerRound[32])
			fmt.Fprintf(w, "| %s | %.4f | %.0f, %.3f ms | %.0f, %.2f ms |\n",
				v.name, v.serveAccuracy, b1.itemsPerSecond, b1.p50*1e3, b32.itemsPerSecond, b32.p50*1e3)
		}
		serve32 := median(versions[0].servePerRound[32]).itemsPerSecond
		for _, v := range versions[1:] {
			fmt.Fprintf(w, "\nThrough modelgate serve, v%s / v%s throughput at batch 32: %.2fx; at batch 1: %.2fx\n",
				v.name, versions[0].name, median(v.servePerRound[32]).itemsPerSecond/serve32,
				median(v.servePerRound[1]).itemsPerSecond/median(versions[0].servePerRound[1]).itemsPerSecond)
		}
	}
	ref32 := median(versions[0].perRound[32]).itemsPerSecond
	for _, v := range versions[1:] {
		fmt.Fprintf(w, "\nv%s / v%s throughput at batch 32: %.2fx; at batch 1: %.2fx; batch 32 per-round items/s v%s %v, v%s %v\n",
			v.name, versions[0].name, median(v.perRound[32]).itemsPerSecond/ref32,
			median(v.perRound[1]).itemsPerSecond/median(versions[0].perRound[1]).itemsPerSecond,
			versions[0].name, rates(versions[0].perRound[32]), v.name, rates(v.perRound[32]))
	}
	return nil
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "an unknown CPU"
}

func threadsName(n int) string {
	if n == 0 {
		return "ONNX Runtime's default"
	}
	return strconv.Itoa(n)
}

func mb(n int64) string { return fmt.Sprintf("%.2f MB", float64(n)/1e6) }

func rates(s []runStats) []int {
	out := make([]int, len(s))
	for i, r := range s {
		out[i] = int(r.itemsPerSecond)
	}
	return out
}

// childRSS runs this program again to load one version alone and returns
// the growth of its resident memory from before the session to after a first run.
func childRSS(f flags, name string) (int64, error) {
	out, err := exec.Command(os.Args[0], "-lib", f.lib, "-models", f.models, "-threads", strconv.Itoa(f.threads), "-rss", name).Output()
	if err != nil {
		return 0, fmt.Errorf("measuring version %s's memory: %w", name, err)
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}

func printRSS(path string, opts ort.Options) error {
	before, err := residentBytes()
	if err != nil {
		return err
	}
	model, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sess, err := ort.NewSession(model, opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer sess.Close()
	model = nil
	ids := make([]int64, 64)
	ids[0] = 2
	if _, err := sess.Run(context.Background(), []tensor.Tensor{tokens(ids, 1)}, nil); err != nil {
		return err
	}
	after, err := residentBytes()
	if err != nil {
		return err
	}
	fmt.Println(after - before)
	return nil
}

// residentBytes is VmRSS from /proc/self/status.
func residentBytes() (int64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/self/status")
}

func readHeldout(path string) (texts []string, labels []int, err error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Scan() // header
	for sc.Scan() {
		cols := strings.SplitN(sc.Text(), "\t", 3)
		if len(cols) != 3 || (cols[1] != "0" && cols[1] != "1") {
			return nil, nil, fmt.Errorf("%s: bad line %q", path, sc.Text())
		}
		texts = append(texts, cols[2])
		labels = append(labels, int(cols[1][0]-'0'))
	}
	return texts, labels, sc.Err()
}

// tokens is the model input for rows of ids, as the sidecar's tokenizer makes it.
func tokens(ids []int64, batch int) tensor.Tensor {
	raw := make([]byte, 8*len(ids))
	for i, id := range ids {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(id))
	}
	return tensor.Tensor{Name: "tokens", DataType: tensor.Int64, Shape: []int64{int64(batch), int64(len(ids) / batch)}, Raw: raw}
}

// batches tokenizes texts into model inputs of up to size rows each.
func batches(tok *textproc.Tokenizer, texts []string, size int) []tensor.Tensor {
	var out []tensor.Tensor
	for start := 0; start < len(texts); start += size {
		end := min(start+size, len(texts))
		var ids []int64
		for _, text := range texts[start:end] {
			ids = tok.IDs(ids, text)
		}
		out = append(out, tokens(ids, end-start))
	}
	return out
}

// classify returns the arg-max class of every text, run in batches of size.
func classify(ctx context.Context, s *ort.Session, tok *textproc.Tokenizer, texts []string, size int) ([]int, error) {
	var out []int
	for _, in := range batches(tok, texts, size) {
		res, err := s.Run(ctx, []tensor.Tensor{in}, nil)
		if err != nil {
			return nil, err
		}
		logits := res[0]
		classes := int(logits.Shape[1])
		for row := 0; row < int(logits.Shape[0]); row++ {
			best := 0
			for c := 1; c < classes; c++ {
				if float32At(logits.Raw, row*classes+c) > float32At(logits.Raw, row*classes+best) {
					best = c
				}
			}
			out = append(out, best)
		}
	}
	return out, nil
}

func float32At(raw []byte, i int) float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
}

// speed runs every text once in batches of size and returns items per
// second and the median latency of one run.
func speed(ctx context.Context, s *ort.Session, tok *textproc.Tokenizer, texts []string, size int) (runStats, error) {
	inputs := batches(tok, texts, size)
	latencies := make([]float64, 0, len(inputs))
	start := time.Now()
	for _, in := range inputs {
		t := time.Now()
		if _, err := s.Run(ctx, []tensor.Tensor{in}, nil); err != nil {
			return runStats{}, err
		}
		latencies = append(latencies, time.Since(t).Seconds())
	}
	elapsed := time.Since(start).Seconds()
	slices.Sort(latencies)
	return runStats{itemsPerSecond: float64(len(texts)) / elapsed, p50: latencies[len(latencies)/2]}, nil
}

func median(s []runStats) runStats {
	ips := make([]float64, len(s))
	p50 := make([]float64, len(s))
	for i, r := range s {
		ips[i], p50[i] = r.itemsPerSecond, r.p50
	}
	slices.Sort(ips)
	slices.Sort(p50)
	return runStats{itemsPerSecond: ips[len(ips)/2], p50: p50[len(p50)/2]}
}

func accuracy(predicted, labels []int) float64 {
	return agreement(predicted, labels)
}

func agreement(a, b []int) float64 {
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	return float64(same) / float64(len(a))
}
