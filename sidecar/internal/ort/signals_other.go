//go:build !linux

package ort

// signalActions is empty where the CUDA provider does not exist.
type signalActions struct{}

func snapshotSignals() *signalActions { return &signalActions{} }

// restoreSignals has nothing to do off Linux: the CUDA execution provider
// this guards against (onnxruntime_go issue 140) is built for Linux here.
func restoreSignals(*signalActions) []int { return nil }
