package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
)

// startCPUProfile writes a Go CPU profile (pprof format) to path until the
// returned stop is called; stop may be called more than once. Besides the
// Go side (gRPC, validation, batching, copies) and the calls into ONNX
// Runtime (runtime.cgocall), the samples of ONNX Runtime's own threads show
// up as runtime._ExternalCode.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating the CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting the CPU profile: %w", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		})
	}, nil
}
