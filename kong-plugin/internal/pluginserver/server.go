// Package pluginserver serves a Go plugin to Kong over Kong's protobuf
// plugin-server protocol (Kong 3.9.3 kong/runloop/plugin_servers/rpc/
// pb_rpc.lua; the messages are go-pdk's server/kong_plugin_protocol). It
// does what go-pdk v0.11.2's server/pbserver.go and server/instance.go do,
// but: what the server writes to Kong is buffered until it next waits for
// Kong (see flushingConn); a handler may send several PDK calls before it
// reads their answers (Conn.Pipeline); an instance's last event counts
// towards its expiry; a frame from Kong has a bound; a connection Kong or
// the handler closed is not logged as an error; and a failed accept is
// retried rather than fatal. go-pdk still provides the PDK the handlers get
// and the -dump answer Kong queries the plugin with.
package pluginserver

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Kong/go-pdk"
	pb "github.com/Kong/go-pdk/server/kong_plugin_protocol"
	"google.golang.org/protobuf/proto"
)

// maxFrameBytes bounds a frame the server reads from Kong (a command, of
// which a plugin config is the largest, or the answer to a pipelined PDK
// call: method, path, headers): a length past it is a broken or foreign
// connection, refused before anything is allocated for it. (A request body
// comes through go-pdk's get_raw_body, bounded by nginx's client body
// settings.)
const maxFrameBytes = 64 << 20

// instanceTimeout is how long an instance that Kong has neither started
// nor sent an event to stays once another instance is closed: go-pdk's
// rule, which frees the instances of configs Kong forgot. Kong asks again
// for one it still uses (it starts it anew on "no plugin instance").
const instanceTimeout = 60 * time.Second

// connWorkers is how many goroutines serve Kong's connections and are
// kept for the next one; a connection that finds none free gets a
// goroutine of its own. Kong connects for every request that ends in
// kong.response.exit, and a new goroutine's small stack grew and was
// copied to the depth of the core's call chain on every request (4% of
// the plugin server's CPU at 32 clients); a worker's stack stays grown.
const connWorkers = 64

// Server holds the plugin instances Kong starts and serves Kong's
// connections.
type Server struct {
	constructor func() any

	mu        sync.RWMutex
	instances map[int32]*instance
}

type instance struct {
	id       int32
	started  time.Time
	value    any // the decoded config
	handlers map[string]func(*pdk.PDK)
	// lastEvent is the Unix nanoseconds of the latest event, for expiry.
	lastEvent atomic.Int64
}

// New returns a server whose instances are constructor's values, each
// decoded from the JSON of its Kong plugin config, as go-pdk's.
func New(constructor func() any) *Server {
	return &Server{constructor: constructor, instances: map[int32]*instance{}}
}

// Serve accepts Kong's connections on l until l is closed; each connection
// is served by a worker goroutine or one of its own, one call after
// another. A failed accept (out of file descriptors under load, say) is
// logged and retried after a pause that grows to a second, as net/http's
// server does, where go-pdk's exits and leaves Kong without its plugin
// until it restarts it.
func (s *Server) Serve(l net.Listener) error {
	conns := make(chan net.Conn)
	defer close(conns)
	for range connWorkers {
		go func() {
			for c := range conns {
				s.serveConn(c)
			}
		}()
	}
	var pause time.Duration
	for {
		c, err := l.Accept()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			log.Printf("accepting a connection from Kong: %v; again in %v", err, pause)
			time.Sleep(pause)
			continue
		}
		pause = 0
		select {
		case conns <- c:
		default:
			go s.serveConn(c)
		}
	}
}

// serveConn answers the calls on one connection. An error ends the
// connection, as in go-pdk: Kong takes a closed connection as its cue to
// start the instance again and retry the event (pb_rpc.lua, handle_event).
func (s *Server) serveConn(raw net.Conn) {
	c := newFlushingConn(raw)
	defer c.Close()
	var frame []byte
	for {
		var err error
		frame, err = readFrame(c, frame)
		if err == nil {
			var answer []byte
			if answer, err = s.call(c, frame); err == nil {
				err = writeFrame(c, answer)
			}
		}
		if err != nil {
			// Kong closes a connection it has no more calls for, and a
			// handler that called kong.response.exit has closed it (go-pdk's
			// Exit does) or is done with it (Conn.Exit): none is worth a
			// line in Kong's log for every request, as go-pdk writes one.
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, errExited) {
				log.Print(err)
			}
			return
		}
	}
}

// call decodes one RpcCall and returns the encoded RpcReturn (nil where
// go-pdk answers an empty frame: the plugin-name and plugin-info calls,
// which Kong 3.9.3 replaces with the -dump query).
func (s *Server) call(c *flushingConn, frame []byte) ([]byte, error) {
	var m pb.RpcCall
	if err := proto.Unmarshal(frame, &m); err != nil {
		return nil, err
	}
	ret := &pb.RpcReturn{Sequence: m.Sequence}
	switch call := m.Call.(type) {
	case *pb.RpcCall_CmdGetPluginNames, *pb.RpcCall_CmdGetPluginInfo:
		return nil, nil
	case *pb.RpcCall_CmdStartInstance:
		inst, err := s.start(call.CmdStartInstance.Config)
		if err != nil {
			return nil, err
		}
		ret.Return = status(call.CmdStartInstance.Name, inst)
	case *pb.RpcCall_CmdGetInstanceStatus:
		inst, err := s.instance(call.CmdGetInstanceStatus.InstanceId)
		if err != nil {
			return nil, err
		}
		ret.Return = status("---", inst)
	case *pb.RpcCall_CmdCloseInstance:
		inst, err := s.close(call.CmdCloseInstance.InstanceId)
		if err != nil {
			return nil, err
		}
		ret.Return = status("---", inst)
	case *pb.RpcCall_CmdHandleEvent:
		if err := s.event(c, call.CmdHandleEvent); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("RPC call has unexpected type %T", call)
	}
	return proto.Marshal(ret)
}

func status(name string, inst *instance) *pb.RpcReturn_InstanceStatus {
	return &pb.RpcReturn_InstanceStatus{InstanceStatus: &pb.InstanceStatus{
		Name: name, InstanceId: inst.id, StartedAt: inst.started.Unix(),
	}}
}

// start decodes a plugin config into a new instance. Its id is the
// config's __seq__ where Kong sent one (Kong 3.9.3 does), else random.
func (s *Server) start(config []byte) (*instance, error) {
	var meta struct {
		Seq int32 `json:"__seq__"`
	}
	if err := json.Unmarshal(config, &meta); err != nil {
		return nil, fmt.Errorf("decoding config metadata: %w", err)
	}
	value := s.constructor()
	if err := json.Unmarshal(config, value); err != nil {
		return nil, fmt.Errorf("decoding config: %w", err)
	}
	inst := &instance{started: time.Now(), value: value, handlers: handlers(value)}
	s.mu.Lock()
	defer s.mu.Unlock()
	inst.id = meta.Seq
	for inst.id == 0 {
		id := rand.Int32()
		if _, taken := s.instances[id]; !taken {
			inst.id = id
		}
	}
	s.instances[inst.id] = inst
	return inst, nil
}

func (s *Server) instance(id int32) (*instance, error) {
	s.mu.RLock()
	inst, ok := s.instances[id]
	s.mu.RUnlock()
	if !ok {
		// Kong matches these words to start the instance again.
		return nil, fmt.Errorf("no plugin instance %d", id)
	}
	return inst, nil
}

// close forgets an instance (an event running on it finishes) and every
// instance idle for instanceTimeout.
func (s *Server) close(id int32) (*instance, error) {
	inst, err := s.instance(id)
	if err != nil {
		return nil, err
	}
	cutoff := time.Now().Add(-instanceTimeout)
	closed := []int32{id}
	s.mu.Lock()
	delete(s.instances, id)
	for other, o := range s.instances {
		if o.started.Before(cutoff) && time.Unix(0, o.lastEvent.Load()).Before(cutoff) {
			delete(s.instances, other)
			closed = append(closed, other)
		}
	}
	s.mu.Unlock()
	for _, id := range closed {
		log.Printf("closed instance %d", id)
	}
	return inst, nil
}

// event runs an instance's handler for one phase with a PDK over the
// connection, then ends the PDK exchange with an empty frame, as go-pdk.
func (s *Server) event(c *flushingConn, e *pb.CmdHandleEvent) error {
	inst, err := s.instance(e.InstanceId)
	if err != nil {
		return err
	}
	h, ok := inst.handlers[e.EventName]
	if !ok {
		return fmt.Errorf("undefined method %s", e.EventName)
	}
	inst.lastEvent.Store(time.Now().UnixNano())
	if a, ok := inst.value.(ConnAccesser); ok && e.EventName == "access" {
		a.AccessConn(pdk.Init(c), Conn{c})
	} else {
		h(pdk.Init(c))
	}
	if c.exited {
		return errExited
	}
	return writeFrame(c, nil)
}

// ConnAccesser is a plugin config whose access phase also takes the
// connection under its PDK, to pipeline PDK calls (Conn.Pipeline). The
// server calls it instead of Access.
type ConnAccesser interface {
	AccessConn(kong *pdk.PDK, conn Conn)
}

// handlers are the phases value handles, by Kong's phase names.
func handlers(value any) map[string]func(*pdk.PDK) {
	hs := map[string]func(*pdk.PDK){}
	if h, ok := value.(interface{ Certificate(*pdk.PDK) }); ok {
		hs["certificate"] = h.Certificate
	}
	if h, ok := value.(interface{ Rewrite(*pdk.PDK) }); ok {
		hs["rewrite"] = h.Rewrite
	}
	if h, ok := value.(interface{ Access(*pdk.PDK) }); ok {
		hs["access"] = h.Access
	}
	if h, ok := value.(interface{ Response(*pdk.PDK) }); ok {
		hs["response"] = h.Response
	}
	if h, ok := value.(interface{ Preread(*pdk.PDK) }); ok {
		hs["preread"] = h.Preread
	}
	if h, ok := value.(interface{ Log(*pdk.PDK) }); ok {
		hs["log"] = h.Log
	}
	return hs
}

// readFrame reads one frame (a little-endian uint32 length, then that
// many bytes) into buf's storage when it is large enough.
func readFrame(r io.Reader, buf []byte) ([]byte, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(head[:])
	if n > maxFrameBytes {
		return nil, fmt.Errorf("a frame of %d bytes is over the %d-byte bound", n, maxFrameBytes)
	}
	if uint32(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// writeFrame writes one frame; the connection sends it with whatever
// follows, before it next reads.
func writeFrame(w io.Writer, data []byte) error {
	var head [4]byte
	binary.LittleEndian.PutUint32(head[:], uint32(len(data)))
	if _, err := w.Write(head[:]); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}
