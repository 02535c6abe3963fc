package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

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
// from the ONNX file at m.Path (the model's first input and first output). A
// dynamic sequence length needs m.SeqLen set (the tokenizer's max_length).
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
	if d := int(ins[0].Dimensions[1]); d > 0 || m.SeqLen == 0 {
		// A model with a dynamic sequence length keeps the length m was given.
		m.SeqLen = d
	}
	m.Classes = int(outs[0].Dimensions[1])
	if m.SeqLen <= 0 || m.Classes <= 0 {
		return m, fmt.Errorf("%s: sequence length and class count must be static, got %v -> %v", m.Path, ins[0], outs[0])
	}
	if m.Vocab == 0 {
		m.Vocab = 10000
	}
	return m, nil
}

// RawSession is one in-process session of the benchmark model.
type RawSession struct {
	m       Model
	sess    *ort.DynamicAdvancedSession
	tensors []ort.Value
}

// Session creates an in-process session for m. threads sets intra-op
// threads (0 = ONNX Runtime's default, as the sidecar uses by default).
func (*ORT) Session(m Model, threads int) (*RawSession, error) {
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
	return &RawSession{m: m, sess: sess}, nil
}

// Func returns a load function running one batch of random tokens from one
// caller: the in-process limit every serving path is judged against. The
// input and output tensors are made once, so the function measures Run alone.
func (s *RawSession) Func(batch int, seed uint64) (load.Func, error) {
	rng := rand.New(rand.NewPCG(seed, 2))
	tokens := make([]int64, batch*s.m.SeqLen)
	for i := range tokens {
		tokens[i] = int64(2 + rng.IntN(s.m.Vocab-2))
	}
	in, err := ort.NewTensor(ort.NewShape(int64(batch), int64(s.m.SeqLen)), tokens)
	if err != nil {
		return nil, err
	}
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(batch), int64(s.m.Classes)))
	if err != nil {
		in.Destroy()
		return nil, err
	}
	s.tensors = append(s.tensors, in, out)
	var mu sync.Mutex
	return func(context.Context) (int, error) {
		// The tensors are reused: one caller at a time.
		mu.Lock()
		defer mu.Unlock()
		return batch, s.sess.Run([]ort.Value{in}, []ort.Value{out})
	}, nil
}

// Close destroys the session and every tensor its functions used.
func (s *RawSession) Close() {
	for _, t := range s.tensors {
		t.Destroy()
	}
	s.sess.Destroy()
}

// TextFunc returns a load function running one batch of real sentences,
// tokenized as the sidecar does, from one caller: the raw path of the
// sentences workload. The batches (at most 16, cycling through sentences)
// are made once, so the function measures Run alone.
func (s *RawSession) TextFunc(batch int, tok *Tokenizer, sentences []string) (load.Func, error) {
	var ins []ort.Value
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(batch), int64(s.m.Classes)))
	if err != nil {
		return nil, err
	}
	s.tensors = append(s.tensors, out)
	for k := 0; k < 16 && k*batch < max(len(sentences), batch); k++ {
		ids := make([]int64, 0, batch*tok.MaxLength)
		for j := range batch {
			ids = tok.IDs(ids, sentences[(k*batch+j)%len(sentences)])
		}
		in, err := ort.NewTensor(ort.NewShape(int64(batch), int64(tok.MaxLength)), ids)
		if err != nil {
			return nil, err
		}
		s.tensors = append(s.tensors, in)
		ins = append(ins, in)
	}
	var mu sync.Mutex
	next := 0
	return func(context.Context) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		next = (next + 1) % len(ins)
		return batch, s.sess.Run([]ort.Value{ins[next]}, []ort.Value{out})
	}, nil
}
