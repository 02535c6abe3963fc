package serve

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// accessLog writes one JSON line per request: the gateway's audit record
// (consumer, model, version, status, items, latency_ms, and with privacy
// on the action and the findings per kind), as the Kong adapter hands it
// to Kong's log serializer, plus the time. Never a body or a header.
type accessLog struct {
	mu  sync.Mutex
	out io.Writer
}

// openAccessLog opens --access-log's FILE for appending, or stdout for "-".
func openAccessLog(path string) (*accessLog, io.Closer, error) {
	if path == "-" {
		return &accessLog{out: os.Stdout}, io.NopCloser(nil), nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, nil, fmt.Errorf("modelgate serve: --access-log: %w", err)
	}
	return &accessLog{out: f}, f, nil
}

// wrap logs each request next answers.
func (l *accessLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &auditWriter{ResponseWriter: w, start: time.Now()}
		next.ServeHTTP(rec, r)
		l.write(rec.record())
	})
}

func (l *accessLog) write(a protocol.Audit, at time.Time) {
	fields := a.Fields()
	fields["time"] = at.UTC().Format(time.RFC3339Nano)
	line, err := json.Marshal(fields)
	if err != nil {
		slog.Error("access log: encoding a record", "err", err)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.out.Write(append(line, '\n')); err != nil {
		slog.Error("access log: writing a record", "err", err)
	}
}

// auditWriter records the status of an answer, and the gateway's audit
// record when the gateway answered (setAudit).
type auditWriter struct {
	http.ResponseWriter
	start   time.Time
	status  int
	audit   protocol.Audit
	audited bool
}

func (w *auditWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *auditWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (w *auditWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// record is the request's line: the gateway's record, or for an answer
// serve gave itself (no route, a body over the limit) the status and the
// time taken.
func (w *auditWriter) record() (protocol.Audit, time.Time) {
	if w.audited && w.audit.Status != 0 {
		return w.audit, w.start
	}
	return protocol.Audit{Status: w.status, Latency: time.Since(w.start)}, w.start
}

// setAudit hands the gateway's audit record to the access log, when there
// is one.
func setAudit(w http.ResponseWriter, a protocol.Audit) {
	if aw, ok := w.(*auditWriter); ok {
		aw.audit, aw.audited = a, true
	}
}
