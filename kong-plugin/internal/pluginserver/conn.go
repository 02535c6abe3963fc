package pluginserver

import (
	"bufio"
	"net"
)

// connBuffer is the size of a connection's read and write buffers: a
// PDK call and its answer, or a whole event's frames but the body, fit.
const connBuffer = 16 << 10

// flushingConn buffers what is written to Kong until the plugin server
// next waits for Kong: every Read flushes first. The protocol is strictly
// call and answer on a connection, so nothing written is ever left
// waiting while the server waits.
//
// go-pdk writes each frame as two writes (its 4-byte length, then its
// bytes; bridge/bridge.go and server/pbserver.go in v0.11.2), and a PDK
// call is two frames, so unbuffered a request through the plugin costs
// about 19 writes and 14 reads, each a system call here and a wake-up in
// Kong's worker; buffered, one write and at most one read per round trip.
type flushingConn struct {
	net.Conn
	r *bufio.Reader
	w *bufio.Writer
	// exited is set by Conn.Exit: the event ends with the connection.
	exited bool
}

func newFlushingConn(c net.Conn) *flushingConn {
	return &flushingConn{Conn: c, r: bufio.NewReaderSize(c, connBuffer), w: bufio.NewWriterSize(c, connBuffer)}
}

// Read sends what is buffered, then reads.
func (c *flushingConn) Read(p []byte) (int, error) {
	if err := c.Flush(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Write buffers p (bufio writes a large p through, after what is buffered).
func (c *flushingConn) Write(p []byte) (int, error) { return c.w.Write(p) }

// Flush sends what is buffered.
func (c *flushingConn) Flush() error {
	if c.w.Buffered() == 0 {
		return nil
	}
	return c.w.Flush()
}
