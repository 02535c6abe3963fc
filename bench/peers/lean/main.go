// Command lean is the benchmark's ceiling: the least a server needs to
// answer the sentiment model over HTTP on this machine. One process,
// net/http, JSON text in, the sidecar's tokenization, one ONNX Runtime
// session in-process with one intra-op thread, and a batcher that never
// waits while the session is idle: a request runs at once when the session
// is free, and the requests that queue while it runs go together as the
// next batch. No auth, no quota, no socket hop. `make bench` runs it beside
// modelgate, so every run shows how close the real pair comes to it.
//
//	lean -model-dir deploy/models/sentiment -version 1 -ort-lib LIB -listen 127.0.0.1:8081
//	curl -d '{"text":"a wonderful film"}' 127.0.0.1:8081/predict
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/modelgate/modelgate/bench"
)

// maxBody bounds a request body: a sentence, not a document.
const maxBody = 64 << 10

func main() {
	modelDir := flag.String("model-dir", "deploy/models/sentiment", "model folder: config.yaml (preprocess.text), vocabulary, VERSION/model.onnx")
	version := flag.String("version", "1", "model version folder")
	lib := flag.String("ort-lib", os.Getenv("ORT_LIB"), "ONNX Runtime shared library")
	listen := flag.String("listen", "127.0.0.1:8081", "address to listen on")
	maxBatch := flag.Int("max-batch", 32, "most sentences in one run")
	flag.Parse()
	if err := run(*modelDir, *version, *lib, *listen, *maxBatch); err != nil {
		fmt.Fprintln(os.Stderr, "lean:", err)
		os.Exit(1)
	}
}

func run(modelDir, version, lib, listen string, maxBatch int) error {
	tok, err := bench.LoadTokenizer(modelDir)
	if err != nil {
		return err
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return err
	}
	defer ort.DestroyEnvironment()
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return err
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		return err
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return err
	}
	path := filepath.Join(modelDir, version, "model.onnx")
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return err
	}
	sess, err := ort.NewDynamicAdvancedSession(path, []string{ins[0].Name}, []string{outs[0].Name}, opts)
	if err != nil {
		return err
	}
	defer sess.Destroy()
	classes := int(outs[0].Dimensions[len(outs[0].Dimensions)-1])
	b := &batcher{sess: sess, tok: tok, classes: classes, maxBatch: maxBatch, queue: make(chan *job, 4096)}
	go b.loop()

	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(b.serveHTTP)}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	log.Printf("lean: serving %s version %s on %s", modelDir, version, l.Addr())
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type job struct {
	text  string
	probs []float32
	err   error
	done  chan struct{}
}

type batcher struct {
	sess     *ort.DynamicAdvancedSession
	tok      *bench.Tokenizer
	classes  int
	maxBatch int
	queue    chan *job
}

func (b *batcher) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/predict" {
		http.Error(w, "POST /predict", http.StatusNotFound)
		return
	}
	var in struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&in); err != nil {
		http.Error(w, "body must be {\"text\": \"...\"}", http.StatusBadRequest)
		return
	}
	j := &job{text: in.Text, done: make(chan struct{})}
	select {
	case b.queue <- j:
	default:
		http.Error(w, "queue full", http.StatusServiceUnavailable)
		return
	}
	<-j.done
	if j.err != nil {
		http.Error(w, j.err.Error(), http.StatusInternalServerError)
		return
	}
	best := 0
	for i, p := range j.probs {
		if p > j.probs[best] {
			best = i
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"label": best, "probabilities": j.probs})
}

// loop takes one job (waiting only while nothing is queued), adds whatever
// else queued meanwhile up to maxBatch, runs them as one batch and answers.
func (b *batcher) loop() {
	jobs := make([]*job, 0, b.maxBatch)
	ids := make([]int64, 0, b.maxBatch*b.tok.MaxLength)
	for first := range b.queue {
		jobs = append(jobs[:0], first)
	more:
		for len(jobs) < b.maxBatch {
			select {
			case j := <-b.queue:
				jobs = append(jobs, j)
			default:
				break more
			}
		}
		ids = ids[:0]
		for _, j := range jobs {
			ids = b.tok.IDs(ids, j.text)
		}
		probs, err := b.run(ids, len(jobs))
		for i, j := range jobs {
			if err != nil {
				j.err = err
			} else {
				j.probs = probs[i*b.classes : (i+1)*b.classes]
			}
			close(j.done)
		}
	}
}

// run runs one batch and returns its softmax probabilities, row after row.
func (b *batcher) run(ids []int64, n int) ([]float32, error) {
	in, err := ort.NewTensor(ort.NewShape(int64(n), int64(b.tok.MaxLength)), ids)
	if err != nil {
		return nil, err
	}
	defer in.Destroy()
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(n), int64(b.classes)))
	if err != nil {
		return nil, err
	}
	defer out.Destroy()
	if err := b.sess.Run([]ort.Value{in}, []ort.Value{out}); err != nil {
		return nil, err
	}
	logits := out.GetData()
	probs := make([]float32, len(logits))
	for row := 0; row < n; row++ {
		r := logits[row*b.classes : (row+1)*b.classes]
		top := r[0]
		for _, v := range r {
			top = max(top, v)
		}
		var sum float64
		for i, v := range r {
			e := math.Exp(float64(v - top))
			probs[row*b.classes+i] = float32(e)
			sum += e
		}
		for i := range r {
			probs[row*b.classes+i] /= float32(sum)
		}
	}
	return probs, nil
}
