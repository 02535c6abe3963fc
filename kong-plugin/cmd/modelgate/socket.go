package main

import (
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
)

// listenSocket listens on PREFIX/<name>.socket, where Kong connects.
//
// It listens in a private folder under kongPrefix first and moves the
// socket into place with a rename. go-pdk v0.11.2 (server/os.go) removes
// the socket file and then listens on the path; during `kong reload` the
// previous plugin server still serves on that path, and every request
// whose connect falls between the remove and the listen fails: Kong 3.9.3
// retries an event only when the connection was closed or the instance is
// unknown (kong/runloop/plugin_servers/rpc/pb_rpc.lua), not when the
// connect fails, and answers 500. A rename replaces the file in one step,
// so a connect reaches either the old server or the new one, never
// nothing.
func listenSocket(kongPrefix, name string) (net.Listener, error) {
	to := filepath.Join(kongPrefix, name+".socket")
	private, err := os.MkdirTemp(kongPrefix, "."+name+"-")
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: creating a private folder next to it: %w", to, err)
	}
	defer os.Remove(private)
	from := filepath.Join(private, name+".socket")
	l, err := net.Listen("unix", from)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", from, err)
	}
	// The path it listened on is gone once renamed: closing must not
	// remove whatever is there then.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Rename(from, to); err != nil {
		l.Close()
		return nil, fmt.Errorf("cannot move the plugin server's socket into place: %w", err)
	}
	// go-pdk's words, for whoever waits for them in Kong's log.
	log.Printf("Listening on socket: %s", to)
	return l, nil
}
