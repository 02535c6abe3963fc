package resilience

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelgate/modelgate/bench"
)

// rawRequest opens a connection to s and sends head (request line and
// headers, without the blank line) and then body.
func rawRequest(t *testing.T, s *serve, head string, body []byte) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, strings.ReplaceAll(head, "\n", "\r\n")+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(body); err != nil {
		t.Fatal(err)
	}
	return c
}

// readAnswer reads one HTTP answer from c within d.
func readAnswer(t *testing.T, c net.Conn, r *bufio.Reader, d time.Duration) (*http.Response, string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("no answer within %s: %v", d, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer's body: %v", err)
	}
	return resp, string(b)
}

func inferHead(s *serve, length int) string {
	return fmt.Sprintf("POST /v2/models/adder/infer HTTP/1.1\nHost: modelgate\nApikey: %s\nContent-Type: application/json\nContent-Length: %d", s.key, length)
}

// TestServeConnectionLimits: a body declared over limits.max_body_bytes is
// refused before serve reads a byte of it, and the client, still sending,
// reads the 413 (nginx's lingering close) instead of a reset; a body that
// stalls gets 408 after --client-body-timeout; past --max-connections a
// connection waits to be accepted until another one closes.
func TestServeConnectionLimits(t *testing.T) {
	repo := t.TempDir()
	copyModel(t, repo, "adder", "", "1")
	s := startServe(t, bench.GatewayConfig{
		Sidecar: launchSidecar(t, repo),
		Limits:  map[string]any{"max_body_bytes": maxBody},
	}, "--client-body-timeout", "1s", "--max-connections", "3")

	t.Run("declared too large", func(t *testing.T) {
		const declared = 64 << 20
		c := rawRequest(t, s, inferHead(s, declared), nil)
		r := bufio.NewReader(c)
		// Not a byte of the body has been sent: the answer cannot wait for it.
		resp, body := readAnswer(t, c, r, 10*time.Second)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"error"`) {
			t.Fatalf("got %d %s, want 413 with an error body", resp.StatusCode, body)
		}
		// The client goes on sending, as clients that do not read the answer
		// before the end of their upload do: serve drains it, no reset.
		chunk := make([]byte, 256<<10)
		_ = c.SetWriteDeadline(time.Now().Add(20 * time.Second))
		for sent := 0; sent < 8<<20; sent += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				t.Fatalf("writing the body after the 413, at %d bytes: %v", sent, err)
			}
		}
		_ = c.(*net.TCPConn).CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if n, err := io.Copy(io.Discard, r); err != nil || n != 0 {
			t.Fatalf("after the answer: %d more bytes, %v; want a clean close (EOF)", n, err)
		}
		c.Close()
	})

	t.Run("stalled body", func(t *testing.T) {
		body := []byte(adderBody)
		c := rawRequest(t, s, inferHead(s, len(body)), body[:10])
		resp, text := readAnswer(t, c, bufio.NewReader(c), 15*time.Second)
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(text, `"error"`) {
			t.Fatalf("got %d %s, want 408 with an error body", resp.StatusCode, text)
		}
		c.Close()
	})

	t.Run("connection cap", func(t *testing.T) {
		// Three open connections (the cap), each with a request served, so
		// serve has accepted them all; then a fourth client must wait.
		s.client.CloseIdleConnections()
		var held []net.Conn
		for range 3 {
			c := rawRequest(t, s, "GET /v2/health/live HTTP/1.1\nHost: modelgate", nil)
			if resp, _ := readAnswer(t, c, bufio.NewReader(c), 10*time.Second); resp.StatusCode != http.StatusOK {
				t.Fatalf("live: %d", resp.StatusCode)
			}
			held = append(held, c)
		}
		fourth := rawRequest(t, s, "GET /v2/health/live HTTP/1.1\nHost: modelgate", nil)
		r := bufio.NewReader(fourth)
		_ = fourth.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := r.ReadByte(); !errors.Is(err, net.ErrClosed) && !isTimeout(err) {
			t.Fatalf("a fourth connection was served past --max-connections 3 (err %v)", err)
		}
		held[0].Close()
		if resp, _ := readAnswer(t, fourth, r, 10*time.Second); resp.StatusCode != http.StatusOK {
			t.Fatalf("after one connection closed: %d", resp.StatusCode)
		}
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
