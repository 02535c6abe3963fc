package pluginserver

import (
	"fmt"

	"google.golang.org/protobuf/proto"
)

// Call is one PDK call: Kong's name for the method, its arguments (nil for
// none) and the message its answer decodes into, or Decode, which takes
// the answer's bytes instead (see DecodeHeaders).
type Call struct {
	Method string
	Args   proto.Message
	Out    proto.Message
	Decode func([]byte) error
}

// Conn is the connection to Kong under an event's PDK, for a handler that
// sends several PDK calls before it waits for their answers (see
// Server.event).
type Conn struct{ c *flushingConn }

// Pipeline sends calls to Kong one after the other, then reads their
// answers in order: one round trip to Kong for all of them, where go-pdk
// makes one per call. Kong 3.9.3 (kong/runloop/plugin_servers/rpc/
// pb_rpc.lua, Rpc:call) reads a PDK call's two frames, answers it and
// reads the next, so the calls it has not read yet wait in the socket. The
// frames are go-pdk's (bridge.Ask): the method's name, then its
// marshalled arguments, empty for none.
func (c Conn) Pipeline(calls ...Call) error {
	args := make([][]byte, len(calls))
	for i, call := range calls {
		if call.Args != nil {
			var err error
			if args[i], err = proto.Marshal(call.Args); err != nil {
				return fmt.Errorf("%s: %w", call.Method, err)
			}
		}
	}
	for i, call := range calls {
		if err := writeFrame(c.c, []byte(call.Method)); err != nil {
			return fmt.Errorf("%s: %w", call.Method, err)
		}
		if err := writeFrame(c.c, args[i]); err != nil {
			return fmt.Errorf("%s: %w", call.Method, err)
		}
	}
	// Every answer is read, even past one that does not decode: Kong
	// answers every call it was sent before it reads the plugin's next one,
	// and fails the request with its own error where a write fails
	// (pb_rpc.lua, write_frame's assert), as it would once the plugin has
	// answered with Exit and closed the connection.
	var first error
	for _, call := range calls {
		answer, err := readFrame(c.c, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", call.Method, err)
		}
		if call.Decode != nil {
			err = call.Decode(answer)
		} else {
			err = proto.Unmarshal(answer, call.Out)
		}
		if err != nil && first == nil {
			first = fmt.Errorf("%s: %w", call.Method, err)
		}
	}
	return first
}
