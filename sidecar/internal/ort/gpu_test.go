package ort

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// The test machines have no GPU and the CPU build of ONNX Runtime: asking for
// a GPU provider must fall back to CPU with a warning saying why, and fail
// when the GPU is required.
func TestGPUProviderFallsBackToCPU(t *testing.T) {
	initORT(t)
	for _, providers := range [][]string{{"cuda", "cpu"}, {"tensorrt", "cuda"}, {"cuda"}} {
		var logs logBuffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		before := snapshotSignals()
		s, err := NewSession(modelBytes(t, "adder", 1), Options{Providers: providers, DeviceIDs: []int{0}}, log)
		if err != nil {
			t.Fatalf("%v: %v", providers, err)
		}
		if got := s.Provider(); got != ProviderCPU {
			t.Errorf("%v: Provider() = %q, want cpu", providers, got)
		}
		out := logs.String()
		if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "running on CPU") || !strings.Contains(out, "reason=") {
			t.Errorf("%v: want a warning with the reason, logs:\n%s", providers, out)
		}
		if after := snapshotSignals(); *after != *before {
			t.Errorf("%v: signal actions changed by a CPU fallback", providers)
		}
		s.Close()
	}
}

func TestRequireGPUFails(t *testing.T) {
	initORT(t)
	log := slog.New(slog.DiscardHandler)
	for _, providers := range [][]string{{"cuda", "cpu"}, {"tensorrt"}, {"cpu"}, nil} {
		_, err := NewSession(modelBytes(t, "adder", 1), Options{Providers: providers, RequireGPU: true}, log)
		if !errors.Is(err, ErrGPURequired) {
			t.Errorf("%v: err = %v, want ErrGPURequired", providers, err)
		}
	}
}

func TestForInstance(t *testing.T) {
	o := Options{Providers: []string{"cuda"}, DeviceIDs: []int{0, 1}}
	for i, want := range []int{0, 1, 0, 1} {
		if got := o.ForInstance(i).DeviceIDs; !slices.Equal(got, []int{want}) {
			t.Errorf("ForInstance(%d).DeviceIDs = %v, want [%d]", i, got, want)
		}
	}
	if got := (Options{}).ForInstance(3).deviceID(); got != 0 {
		t.Errorf("no device ids: device %d, want 0", got)
	}
}

// restoreSignals must put back a handler that non-Go code replaced, as the
// CUDA provider does (stood in for here by setting SIGUSR2 to SIG_IGN behind
// the Go runtime's back).
func TestRestoreSignals(t *testing.T) {
	saved := snapshotSignals()
	ignore := kernelSigaction{1} // SIG_IGN, no flags
	_, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGUSR2),
		uintptr(unsafe.Pointer(&ignore)), 0, 8, 0, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	if now := snapshotSignals(); now[syscall.SIGUSR2] == saved[syscall.SIGUSR2] {
		t.Fatal("SIGUSR2 did not change")
	}
	restored := restoreSignals(saved)
	if !slices.Equal(restored, []int{int(syscall.SIGUSR2)}) {
		t.Errorf("restored %v, want [SIGUSR2]", restored)
	}
	if now := snapshotSignals(); *now != *saved {
		t.Error("signal actions differ from the snapshot after restore")
	}
}
