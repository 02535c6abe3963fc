package kongharness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
)

// Node is what one Kong node keeps of its plugin server: the server its
// socket leads to now and the plugin instance of one plugin config there.
// It does what Kong 3.9.3 does across `kong reload`:
//
//   - Access starts the instance on the first request that needs it, and
//     when the server closes the connection without an answer (go-pdk's
//     reply to an unknown instance id, or a server that went away) resets
//     the instance and sends the event again
//     (kong/runloop/plugin_servers/rpc/pb_rpc.lua, Rpc:handle_event).
//   - Reload starts a second plugin server on the same prefix while the
//     first keeps running: the new generation's worker 0 spawns it, and the
//     old one gets SIGTERM only when the old worker exits, once it has
//     drained (kong/runloop/plugin_servers/process.lua). go-pdk removes the
//     socket file before it listens, so every new connection reaches the new
//     server from then on; the old server only finishes what it holds.
type Node struct {
	binary string
	opts   Options
	name   string
	config any

	mu   sync.Mutex
	srv  *Server
	inst *Instance // on srv; nil until a request needs it
}

// StartNode starts the plugin server as Kong does (Start) for plugin name
// with config. The instance starts lazily, as under Kong.
func StartNode(ctx context.Context, binary string, opts Options, name string, config any) (*Node, error) {
	srv, err := Start(ctx, binary, opts)
	if err != nil {
		return nil, err
	}
	return &Node{binary: binary, opts: opts, name: name, config: config, srv: srv}, nil
}

// Server is the plugin server the node's socket leads to now.
func (n *Node) Server() *Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.srv
}

// maxEventAttempts bounds Access's retries; Kong retries without a bound.
const maxEventAttempts = 5

// Access runs the access phase for req on the current plugin server, as
// Kong's handle_event does (see Node).
func (n *Node) Access(ctx context.Context, req Request) (*Response, error) {
	var last error
	for range maxEventAttempts {
		srv, inst, err := n.instance(ctx)
		if err != nil {
			return nil, err
		}
		res, err := srv.Access(ctx, inst.ID, req)
		if err == nil || res == nil || len(res.Calls) > 0 || ctx.Err() != nil {
			// res == nil: the connect failed, which Kong answers 500.
			return res, err
		}
		// Closed before any PDK call: "no plugin instance", or the
		// connection reached a server that was going away.
		last = err
		n.mu.Lock()
		if n.inst == inst {
			n.inst = nil
		}
		n.mu.Unlock()
	}
	return nil, fmt.Errorf("access: the plugin server closed the connection %d times: %w", maxEventAttempts, last)
}

// instance returns the current server and its instance, starting the
// instance if there is none (Kong's get_instance_id).
func (n *Node) instance(ctx context.Context) (*Server, *Instance, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.inst == nil {
		inst, err := n.srv.StartInstance(ctx, n.name, n.config)
		if err != nil {
			return nil, nil, err
		}
		n.inst = inst
	}
	return n.srv, n.inst, nil
}

// Reload starts the next generation's plugin server on the same prefix and
// returns the previous one, still running. The caller stops it with Close
// (SIGTERM) when Kong would: once the old worker has drained, that is,
// once the requests the caller sent to it have returned.
func (n *Node) Reload(ctx context.Context) (old *Server, err error) {
	n.mu.Lock()
	old = n.srv
	n.mu.Unlock()
	st, err := os.Stat(old.Socket)
	if err != nil {
		return nil, fmt.Errorf("reload: the current socket: %w", err)
	}
	opts := n.opts
	opts.Prefix = old.Prefix
	srv, err := start(ctx, n.binary, opts, st)
	if err != nil {
		return nil, fmt.Errorf("reload: %w", err)
	}
	n.mu.Lock()
	// The new server owns a temporary prefix from now on: the old one
	// must not remove it when it stops.
	srv.tmp, old.tmp = old.tmp, false
	n.srv, n.inst = srv, nil
	n.mu.Unlock()
	return old, nil
}

// Close stops the current plugin server (see Server.Close).
func (n *Node) Close() error {
	srv := n.Server()
	if srv == nil {
		return errors.New("no plugin server")
	}
	return srv.Close()
}
