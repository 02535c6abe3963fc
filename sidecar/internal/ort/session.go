package ort

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/modelgate/modelgate/shared/tensor"
)

// ErrClosed is returned by Run on a closed Session.
var ErrClosed = errors.New("ort: session closed")

// ErrGPURequired is wrapped by NewSession's error when Options.RequireGPU is
// set and no GPU provider could be used.
var ErrGPURequired = errors.New("ort: GPU required but unavailable")

// Session is one loaded model: an ONNX Runtime DynamicAdvancedSession, which
// ONNX Runtime lets many goroutines Run at once. Close it when done.
type Session struct {
	// mu guards sess against Close while Runs are in flight: Run holds it
	// shared, Close exclusively.
	mu     sync.RWMutex
	sess   *onnx.DynamicAdvancedSession
	closed bool

	inputs, outputs []ioDecl
	inputIndex      map[string]int
	outputIndex     map[string]int
	outputNames     []string
	provider        string
	hasFP16         bool // some output is FP16 and must be preallocated
	// sizable[i] says output i's shape is known before the run (nil when
	// none is), so Run may preallocate it; autoOutputs turns that off after
	// a run that failed with preallocated outputs succeeded without them
	// (a model whose dim_params do not hold).
	sizable     []bool
	autoOutputs atomic.Bool
	log         *slog.Logger

	// guardFirstRun is set for GPU sessions: CUDA may finish initialising on
	// the first Run, so that Run is wrapped in the signal snapshot/restore too.
	guardFirstRun atomic.Bool
}

// NewSession loads an ONNX model from its bytes (an encrypted model is
// decrypted in memory by the caller and never touches disk) with the
// execution providers opts asks for. A GPU provider that cannot be used is
// logged with the reason and the session runs on CPU, unless opts.RequireGPU,
// which makes it an error wrapping ErrGPURequired.
func NewSession(model []byte, opts Options, log *slog.Logger) (*Session, error) {
	if log == nil {
		log = slog.Default()
	}
	if !initialized() {
		return nil, ErrNotInitialized
	}
	inputs, outputs, err := readModelIO(model)
	if err != nil {
		return nil, fmt.Errorf("ort: read model inputs and outputs: %w", err)
	}
	if err := checkFP16Outputs(inputs, outputs); err != nil {
		return nil, err
	}
	gpus, err := opts.gpuProviders()
	if err != nil {
		return nil, err
	}
	if opts.RequireGPU && len(gpus) == 0 {
		return nil, fmt.Errorf("%w: require_gpu is set but no GPU provider (cuda, tensorrt) is listed before cpu in %v", ErrGPURequired, opts.Providers)
	}
	s := &Session{
		inputs:      inputs,
		outputs:     outputs,
		inputIndex:  map[string]int{},
		outputIndex: map[string]int{},
		log:         log,
	}
	inNames := make([]string, len(inputs))
	for i, in := range inputs {
		inNames[i] = in.Name
		s.inputIndex[in.Name] = i
	}
	s.outputNames = make([]string, len(outputs))
	for i, out := range outputs {
		s.outputNames[i] = out.Name
		s.outputIndex[out.Name] = i
		s.hasFP16 = s.hasFP16 || out.DataType == tensor.FP16
		if sizable(out, inputs) {
			if s.sizable == nil {
				s.sizable = make([]bool, len(outputs))
			}
			s.sizable[i] = true
		}
	}

	if len(gpus) > 0 {
		gpuSetup.Lock()
		defer gpuSetup.Unlock()
		saved := snapshotSignals()
		defer func() {
			if restored := restoreSignals(saved); len(restored) > 0 {
				log.Info("restored Go signal handlers replaced while creating a GPU session", "signals", restored)
			}
		}()
	}
	sess, provider, err := createSession(model, inNames, s.outputNames, opts, gpus, log)
	if err != nil {
		return nil, err
	}
	s.sess, s.provider = sess, provider
	s.guardFirstRun.Store(provider != ProviderCPU)
	return s, nil
}

// createSession creates the ONNX Runtime session with the first usable GPU
// providers, falling back to CPU when allowed.
func createSession(model []byte, inNames, outNames []string, opts Options, gpus []string, log *slog.Logger) (*onnx.DynamicAdvancedSession, string, error) {
	so, appended, failures, err := newSessionOptions(opts, gpus)
	if err != nil {
		return nil, "", err
	}
	if len(gpus) > 0 && len(appended) == 0 {
		so.Destroy()
		why := errors.Join(failures...)
		if opts.RequireGPU {
			return nil, "", fmt.Errorf("%w: %w", ErrGPURequired, why)
		}
		log.Warn("no GPU execution provider could be used, running on CPU", "requested", gpus, "reason", why.Error())
		return createCPUSession(model, inNames, outNames, opts)
	}
	if len(failures) > 0 {
		log.Warn("some GPU execution providers could not be used", "using", appended, "reason", errors.Join(failures...).Error())
	}
	sess, err := onnx.NewDynamicAdvancedSessionWithONNXData(model, inNames, outNames, so)
	so.Destroy()
	if err == nil {
		if len(appended) == 0 {
			return sess, ProviderCPU, nil
		}
		return sess, appended[0], nil
	}
	if len(appended) == 0 {
		return nil, "", fmt.Errorf("ort: create session: %w", err)
	}
	if opts.RequireGPU {
		return nil, "", fmt.Errorf("%w: create session with %v: %w", ErrGPURequired, appended, err)
	}
	log.Warn("could not create the session on GPU, running on CPU", "providers", appended, "reason", err.Error())
	return createCPUSession(model, inNames, outNames, opts)
}

func createCPUSession(model []byte, inNames, outNames []string, opts Options) (*onnx.DynamicAdvancedSession, string, error) {
	so, _, _, err := newSessionOptions(opts, nil)
	if err != nil {
		return nil, "", err
	}
	defer so.Destroy()
	sess, err := onnx.NewDynamicAdvancedSessionWithONNXData(model, inNames, outNames, so)
	if err != nil {
		return nil, "", fmt.Errorf("ort: create session: %w", err)
	}
	return sess, ProviderCPU, nil
}

// Inputs are the model's inputs as its ONNX file declares them, in order.
func (s *Session) Inputs() []IOInfo { return publicInfo(s.inputs) }

// Outputs are the model's outputs as its ONNX file declares them, in order.
func (s *Session) Outputs() []IOInfo { return publicInfo(s.outputs) }

func publicInfo(decls []ioDecl) []IOInfo {
	out := make([]IOInfo, len(decls))
	for i, d := range decls {
		out[i] = IOInfo{Name: d.Name, DataType: d.DataType, Dims: append([]int64(nil), d.Dims...)}
	}
	return out
}

// Provider is the execution provider the session runs on: "cpu", "cuda" or
// "tensorrt" (the highest-priority one ONNX Runtime accepted).
func (s *Session) Provider() string { return s.provider }

// Close waits for Runs in flight, then frees the ONNX Runtime session. Later
// Runs fail with ErrClosed. Closing twice is harmless.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.sess.Destroy(); err != nil {
		return fmt.Errorf("ort: destroy session: %w", err)
	}
	return nil
}
