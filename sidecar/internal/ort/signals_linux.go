package ort

import (
	"syscall"
	"unsafe"
)

// maxSignal is the highest Linux signal number (SIGRTMAX).
const maxSignal = 64

// kernelSigaction holds the kernel's struct sigaction as rt_sigaction reads
// and writes it: handler, flags, restorer and a 64-bit mask on amd64 and arm64
// alike. It is only ever copied back verbatim, so its fields need no names.
type kernelSigaction [4]uint64

// signalActions is a snapshot of every signal's disposition.
type signalActions [maxSignal + 1]kernelSigaction

// snapshotSignals reads the current action of every signal with rt_sigaction.
func snapshotSignals() *signalActions {
	var s signalActions
	for sig := 1; sig <= maxSignal; sig++ {
		// Signals the kernel refuses (none on Linux for a read) keep a zero entry
		// and are skipped by restoreSignals.
		_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), 0,
			uintptr(unsafe.Pointer(&s[sig])), 8, 0, 0)
	}
	return &s
}

// restoreSignals puts back every signal action that changed since s was
// taken and returns the numbers of those it restored.
//
// Why: the CUDA execution provider (and the CUDA libraries it loads) install
// their own handlers for signals such as SIGSEGV, SIGBUS and SIGINT, without
// SA_ONSTACK (onnxruntime_go issue 140). Go runs signal handlers on an
// alternate stack; when such a signal lands on a goroutine the runtime dies
// with "non-Go code set up signal handler without SA_ONSTACK flag", and
// os/signal no longer sees SIGINT/SIGTERM. signal.Notify cannot repair it:
// the runtime installs its handler for a signal only once. So we read every
// action right before ONNX Runtime touches CUDA and write back any it changed,
// which restores Go's handlers exactly (flags, mask and restorer included).
func restoreSignals(s *signalActions) []int {
	now := snapshotSignals()
	var restored []int
	for sig := 1; sig <= maxSignal; sig++ {
		if now[sig] == s[sig] || sig == int(syscall.SIGKILL) || sig == int(syscall.SIGSTOP) {
			continue
		}
		_, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig),
			uintptr(unsafe.Pointer(&s[sig])), 0, 8, 0, 0)
		if errno == 0 {
			restored = append(restored, sig)
		}
	}
	return restored
}
