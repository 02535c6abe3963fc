package serve

import (
	"net"
	"sync"
)

// limitListener accepts at most cap connections at once; past that, Accept
// waits for one to close, as nginx stops accepting past worker_connections.
// Unlike golang.org/x/net/netutil's, its connections keep *net.TCPConn's
// methods: net/http half-closes (CloseWrite) before closing a connection it
// refused, so the client reads the refusal instead of a reset.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(l net.Listener, cap int) *limitListener {
	return &limitListener{Listener: l, slots: make(chan struct{}, cap), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	release := sync.OnceFunc(func() { <-l.slots })
	if tcp, ok := c.(*net.TCPConn); ok {
		return &limitedTCPConn{TCPConn: tcp, release: release}, nil
	}
	return &limitedConn{Conn: c, release: release}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitedTCPConn struct {
	*net.TCPConn
	release func()
}

func (c *limitedTCPConn) Close() error {
	defer c.release()
	return c.TCPConn.Close()
}

type limitedConn struct {
	net.Conn
	release func()
}

func (c *limitedConn) Close() error {
	defer c.release()
	return c.Conn.Close()
}
