package main

import (
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// socketWait bounds how long publishSocket waits for go-pdk to listen.
const socketWait = 30 * time.Second

// publishSocket makes go-pdk listen in a private folder under kongPrefix
// and moves the socket into place, PREFIX/<name>.socket, once it listens.
// It returns the private folder, to be go-pdk's -kong-prefix.
//
// go-pdk v0.11.2 (server/os.go) removes the socket file and then listens
// on the path. During `kong reload` the previous plugin server still
// serves on that path, and every request whose connect falls between the
// remove and the listen fails: Kong 3.9.3 retries an event only when the
// connection was closed or the instance is unknown
// (kong/runloop/plugin_servers/rpc/pb_rpc.lua), not when the connect
// fails, and answers 500. A rename replaces the file in one step, so a
// connect reaches either the old server or the new one, never nothing.
func publishSocket(kongPrefix, name string) (string, error) {
	to := filepath.Join(kongPrefix, name+".socket")
	private, err := os.MkdirTemp(kongPrefix, "."+name+"-")
	if err != nil {
		return "", fmt.Errorf("cannot listen on %s: creating a private folder next to it: %w", to, err)
	}
	from := filepath.Join(private, name+".socket")
	go func() {
		defer os.Remove(private)
		deadline := time.Now().Add(socketWait)
		for {
			if _, err := os.Lstat(from); err == nil {
				break
			}
			if time.Now().After(deadline) {
				slog.Error("go-pdk did not listen; the socket is not in place", "socket", from, "waited", socketWait)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := os.Rename(from, to); err != nil {
			slog.Error("cannot move the plugin server's socket into place", "from", from, "to", to, "err", err)
			return
		}
		// go-pdk's own words, for whoever waits for them in Kong's log;
		// go-pdk said them about the private path.
		log.Printf("Listening on socket: %s", to)
	}()
	return private, nil
}
