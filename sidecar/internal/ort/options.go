package ort

import (
	"fmt"
	"strconv"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"
)

// Execution provider names, as config.yaml's instance_group lists them.
const (
	ProviderCPU      = "cpu"
	ProviderCUDA     = "cuda"
	ProviderTensorRT = "tensorrt"
)

// Options says how a Session runs its model.
type Options struct {
	// Providers are the execution providers to try, highest priority first:
	// "cpu", "cuda", "tensorrt". The CPU provider always backs the others;
	// empty means CPU only. Providers after "cpu" are ignored.
	Providers []string
	// DeviceIDs are the GPUs this session may use; a session uses the first
	// (default 0). Spread an instance group over GPUs with ForInstance.
	DeviceIDs []int
	// RequireGPU makes NewSession fail instead of falling back to CPU when no
	// GPU provider could be used.
	RequireGPU bool
	// IntraOpThreads is ONNX Runtime's intra-op thread count; 0 = its default.
	IntraOpThreads int
	// NoSpinning sets ONNX Runtime's session.intra_op.allow_spinning to
	// "0": its intra-op threads sleep as soon as a run ends instead of
	// spin-waiting for the next one, leaving the CPU to the gRPC path on
	// small machines at the cost of a slower wake-up. False keeps ORT's
	// default (spinning on).
	NoSpinning bool
}

// ForInstance returns the options for instance i of an instance group: the
// same, with DeviceIDs narrowed to the i-th device round robin, so a group of
// count N over devices [0, 1] puts instances on 0, 1, 0, 1, ...
func (o Options) ForInstance(i int) Options {
	if len(o.DeviceIDs) > 1 {
		o.DeviceIDs = []int{o.DeviceIDs[i%len(o.DeviceIDs)]}
	}
	return o
}

func (o Options) deviceID() int {
	if len(o.DeviceIDs) > 0 {
		return o.DeviceIDs[0]
	}
	return 0
}

// gpuProviders returns the GPU providers asked for before any "cpu", and an
// error for a name it does not know.
func (o Options) gpuProviders() ([]string, error) {
	var gpus []string
	for _, p := range o.Providers {
		switch p {
		case ProviderCPU:
			return gpus, nil
		case ProviderCUDA, ProviderTensorRT:
			gpus = append(gpus, p)
		default:
			return nil, fmt.Errorf("ort: unknown execution provider %q (want cpu, cuda or tensorrt)", p)
		}
	}
	return gpus, nil
}

// gpuSetup serialises the stretches where ONNX Runtime may initialise CUDA,
// so that the signal snapshot taken before one is not polluted by another
// session's CUDA start (see restoreSignals).
var gpuSetup sync.Mutex

// newSessionOptions builds ONNX Runtime session options with the GPU
// providers in gpus appended. It returns the options, the providers it could
// append, and why each of the others could not be.
func newSessionOptions(o Options, gpus []string) (*onnx.SessionOptions, []string, []error, error) {
	so, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("ort: session options: %w", err)
	}
	if o.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(o.IntraOpThreads); err != nil {
			so.Destroy()
			return nil, nil, nil, fmt.Errorf("ort: intra-op threads %d: %w", o.IntraOpThreads, err)
		}
	}
	if o.NoSpinning {
		if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			so.Destroy()
			return nil, nil, nil, fmt.Errorf("ort: turning intra-op spinning off: %w", err)
		}
	}
	var appended []string
	var failures []error
	for _, p := range gpus {
		var err error
		switch p {
		case ProviderCUDA:
			err = appendCUDA(so, o.deviceID())
		case ProviderTensorRT:
			err = appendTensorRT(so, o.deviceID())
		}
		if err != nil {
			failures = append(failures, fmt.Errorf("%s on device %d: %w", p, o.deviceID(), err))
			continue
		}
		appended = append(appended, p)
	}
	return so, appended, failures, nil
}
func appendCUDA(so *onnx.SessionOptions, device int) error {
	opts, err := onnx.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("CUDA provider options: %w", err)
	}
	defer opts.Destroy()
	// HEURISTIC: EXHAUSTIVE (the default) benchmarks every cuDNN algorithm for
	// each new input shape, hundreds of ms per new batch size.
	err = opts.Update(map[string]string{
		"device_id":              strconv.Itoa(device),
		"cudnn_conv_algo_search": "HEURISTIC",
	})
	if err != nil {
		return fmt.Errorf("CUDA provider options: %w", err)
	}
	if err := so.AppendExecutionProviderCUDA(opts); err != nil {
		return fmt.Errorf("append CUDA provider: %w", err)
	}
	return nil
}

func appendTensorRT(so *onnx.SessionOptions, device int) error {
	opts, err := onnx.NewTensorRTProviderOptions()
	if err != nil {
		return fmt.Errorf("TensorRT provider options: %w", err)
	}
	defer opts.Destroy()
	if err := opts.Update(map[string]string{"device_id": strconv.Itoa(device)}); err != nil {
		return fmt.Errorf("TensorRT provider options: %w", err)
	}
	if err := so.AppendExecutionProviderTensorRT(opts); err != nil {
		return fmt.Errorf("append TensorRT provider: %w", err)
	}
	return nil
}
