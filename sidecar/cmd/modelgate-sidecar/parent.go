package main

import (
	"context"
	"log/slog"
	"os"
	"syscall"
	"time"
)

// watchParent sends SIGTERM's drain to signals when the process that
// launched the sidecar goes away (the sidecar is then re-parented). go-plugin
// does not stop a plugin whose host died, and an orphaned sidecar would keep
// its models (and GPU memory) while the restarted host launches another.
func watchParent(ctx context.Context, signals chan<- os.Signal, log *slog.Logger) {
	parent := os.Getppid()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if os.Getppid() != parent {
				log.Warn("the plugin server that launched the sidecar is gone; shutting down", "parent_pid", parent)
				select {
				case signals <- syscall.SIGTERM:
				default:
				}
				return
			}
		}
	}
}
