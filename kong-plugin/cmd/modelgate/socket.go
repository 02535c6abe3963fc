package main

import (
	"log"
	"net"
	"path/filepath"

	"github.com/modelgate/modelgate/internal/unixsock"
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
	l, err := unixsock.Listen(to, 0)
	if err != nil {
		return nil, err
	}
	// go-pdk's words, for whoever waits for them in Kong's log.
	log.Printf("Listening on socket: %s", to)
	return l, nil
}
