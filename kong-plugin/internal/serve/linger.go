package serve

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// nginx's lingering close (ngx_http_core_module: lingering_time 30s,
// lingering_timeout 5s): after answering a request whose body it will not
// read, nginx closes its sending side and reads and drops what the client
// still sends for a while, so the client reads the answer instead of a
// connection reset. serve does the same for the bodies it refuses unread.
const (
	lingeringTime    = 30 * time.Second
	lingeringTimeout = 5 * time.Second
)

// refuseUnread answers status with a JSON {"error": message} body, closes
// the connection for writing and drains what the client keeps sending (at
// most lingeringTime, at most declared bytes, lingeringTimeout between
// reads) before it closes it. Where the connection cannot be taken over
// (HTTP/2), net/http answers and closes as usual.
func refuseUnread(w http.ResponseWriter, status int, message string, declared int64) {
	body := errorBody(message)
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		w.Header().Set("Connection", "close")
		writeJSON(w, status, body)
		return
	}
	defer conn.Close()
	_ = conn.SetWriteDeadline(time.Now().Add(lingeringTimeout))
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), len(body), body)
	if buf.Flush() != nil {
		return
	}
	if tcp, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = tcp.CloseWrite()
	}
	drain(conn, buf.Reader, declared)
}

// drain reads and drops up to limit bytes (no limit when limit < 0) from r
// until the client stops sending, closes, or lingeringTime is up.
func drain(conn net.Conn, r *bufio.Reader, limit int64) {
	end := time.Now().Add(lingeringTime)
	if limit < 0 {
		limit = 1<<63 - 1
	}
	chunk := make([]byte, 32<<10)
	for limit > 0 && time.Now().Before(end) {
		next := time.Now().Add(lingeringTimeout)
		if next.After(end) {
			next = end
		}
		_ = conn.SetReadDeadline(next)
		n, err := r.Read(chunk[:min(int64(len(chunk)), limit)])
		limit -= int64(n)
		if err != nil {
			return
		}
	}
}

// deadlineReader reads a request body with nginx's client_body_timeout: the
// deadline is for each read, not the whole body, so a slow but steady
// upload goes on and a stalled one ends.
type deadlineReader struct {
	body    io.Reader
	rc      *http.ResponseController
	timeout time.Duration
}

func (d deadlineReader) Read(p []byte) (int, error) {
	_ = d.rc.SetReadDeadline(time.Now().Add(d.timeout))
	return d.body.Read(p)
}

// isTimeout tells a body read that hit its deadline from other read errors.
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// errorBody is the {"error": message} body the gateway's own errors use.
func errorBody(message string) []byte {
	b, _ := json.Marshal(map[string]string{"error": message})
	return b
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
