// Package ort runs ONNX models with ONNX Runtime (through
// github.com/yalue/onnxruntime_go) on tensors of the project's shared/tensor
// form: raw little-endian bytes plus shape and datatype.
//
// ONNX Runtime has one environment per process, so this package keeps one
// process-global record of it (the library path it was loaded from); Init sets
// it once. Everything else lives in Sessions, which are safe to share between
// goroutines and must be Closed: nothing here relies on finalizers.
package ort

import (
	"errors"
	"fmt"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"
)

// environment is the process's one ONNX Runtime environment. It is global
// because ONNX Runtime's is: a second InitializeEnvironment fails, and the
// shared library cannot be loaded twice from different paths.
var environment struct {
	mu   sync.Mutex
	path string
	err  error
}

// ErrNotInitialized is returned by NewSession before Init succeeded.
var ErrNotInitialized = errors.New("ort: ONNX Runtime environment not initialised (call ort.Init)")

// Init loads the ONNX Runtime shared library at libPath and creates the
// process's environment. Calling it again with the same path returns the
// first call's result; a different path is an error, since a process can hold
// only one ONNX Runtime.
func Init(libPath string) error {
	environment.mu.Lock()
	defer environment.mu.Unlock()
	if environment.path != "" {
		if environment.path != libPath {
			return fmt.Errorf("ort: ONNX Runtime already initialised from %s, cannot switch to %s", environment.path, libPath)
		}
		return environment.err
	}
	onnx.SetSharedLibraryPath(libPath)
	err := onnx.InitializeEnvironment(onnx.WithLogLevelWarning())
	if err != nil {
		err = fmt.Errorf("ort: load ONNX Runtime from %s: %w", libPath, err)
	}
	environment.path, environment.err = libPath, err
	return err
}

// Version is the loaded ONNX Runtime's version ("" before Init).
func Version() string {
	if !onnx.IsInitialized() {
		return ""
	}
	return onnx.GetVersion()
}

func initialized() bool {
	environment.mu.Lock()
	defer environment.mu.Unlock()
	return environment.path != "" && environment.err == nil
}
