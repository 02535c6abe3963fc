package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
)

// generator writes the benchmark model (the sidecar's test model generator,
// which needs Debian's python3 with onnx).
var generator = []string{"/usr/bin/python3", "sidecar/testdata/gen_models.py", "--bench"}

// ensureModel returns the benchmark model's ONNX file under dir, generating
// it when it is missing.
func ensureModel(ctx context.Context, dir string) (string, error) {
	path := filepath.Join(dir, "bench_classifier", "1", "model.onnx")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	slog.Info("generating the benchmark model", "dir", dir)
	args := append(append([]string{}, generator[1:]...), dir)
	cmd := exec.CommandContext(ctx, generator[0], args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("generating the benchmark model with %v: %w", cmd.Args, err)
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("the generator did not write %s: %w", path, err)
	}
	return path, nil
}
