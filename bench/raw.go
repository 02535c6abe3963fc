package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/modelgate/modelgate/bench/load"
)

// ORT is the ONNX Runtime environment of the benchmark process itself, used
// for the in-process limit. Close it before measuring anything else so that
// its threads are gone.
type ORT struct{}

// OpenORT loads the ONNX Runtime library at lib and creates the environment.
func OpenORT(lib string) (*ORT, error) {
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return nil, fmt.Errorf("initializing ONNX Runtime from %s: %w", lib, err)
	}
	return &ORT{}, nil
}

// Close destroys the environment.
func (*ORT) Close() error { return ort.DestroyEnvironment() }

// Inspect fills m's input and output names, sequence length and class count
// from the ONNX file at m.Path (the model's first input and first output).
func (*ORT) Inspect(m Model) (Model, error) {
	ins, outs, err := ort.GetInputOutputInfo(m.Path)
	if err != nil {
		return m, fmt.Errorf("reading %s: %w", m.Path, err)
	}
	if len(ins) == 0 || len(outs) == 0 || len(ins[0].Dimensions) != 2 || len(outs[0].Dimensions) != 2 {
		return m, fmt.Errorf("%s: want one [batch, seq] input and one [batch, classes] output, got %v -> %v", m.Path, ins, outs)
	}
	if ins[0].DataType != ort.TensorElementDataTypeInt64 {
		return m, fmt.Errorf("%s: input %s is %s, want INT64 token ids", m.Path, ins[0].Name, ins[0].DataType)
	}
	m.Input, m.Output = ins[0].Name, outs[0].Name
	m.SeqLen, m.Classes = int(ins[0].Dimensions[1]), int(outs[0].Dimensions[1])
	if m.SeqLen <= 0 || m.Classes <= 0 {
		return m, fmt.Errorf("%s: sequence length and class count must be static, got %v -> %v", m.Path, ins[0], outs[0])
	}
	if m.Vocab == 0 {
		m.Vocab = 10000
	}
	return m, nil
}

// MeasureRaw runs m in-process from one caller at each batch size for d
// (after a short warm-up) and reports one point per batch size: the limit
// every serving path is judged against. threads sets intra-op threads (0 =
// ONNX Runtime's default, as the sidecar uses by default).
func (*ORT) MeasureRaw(ctx context.Context, m Model, batches []int, d time.Duration, threads int) ([]Point, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	if threads > 0 {
		if err := opts.SetIntraOpNumThreads(threads); err != nil {
			return nil, err
		}
	}
	sess, err := ort.NewDynamicAdvancedSession(m.Path, []string{m.Input}, []string{m.Output}, opts)
	if err != nil {
		return nil, fmt.Errorf("creating the session: %w", err)
	}
	defer sess.Destroy()
	rng := rand.New(rand.NewPCG(1, 2))
	var points []Point
	for _, b := range batches {
		p, err := measureBatch(ctx, sess, m, rng, b, d)
		if err != nil {
			return nil, fmt.Errorf("batch %d: %w", b, err)
		}
		points = append(points, p)
	}
	return points, nil
}

func measureBatch(ctx context.Context, sess *ort.DynamicAdvancedSession, m Model, rng *rand.Rand, batch int, d time.Duration) (Point, error) {
	tokens := make([]int64, batch*m.SeqLen)
	for i := range tokens {
		tokens[i] = int64(2 + rng.IntN(m.Vocab-2))
	}
	in, err := ort.NewTensor(ort.NewShape(int64(batch), int64(m.SeqLen)), tokens)
	if err != nil {
		return Point{}, err
	}
	defer in.Destroy()
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(batch), int64(m.Classes)))
	if err != nil {
		return Point{}, err
	}
	defer out.Destroy()
	run := func(context.Context) (int, error) {
		return batch, sess.Run([]ort.Value{in}, []ort.Value{out})
	}
	warm := load.Closed{Clients: 1, Count: 5, Duration: d / 4}.Run(ctx, run)
	if warm.ErrorCount() > 0 {
		return Point{}, fmt.Errorf("warm-up failed: %v", warm.Errors)
	}
	r := load.Closed{Clients: 1, Duration: d}.Run(ctx, run)
	return Point{Path: PathRaw, Clients: 1, Batch: batch, Summary: r.Summarize()}, nil
}
