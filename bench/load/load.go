// Package load is modelgate's load generator: closed loop (a fixed number of
// clients, each sending its next request when the last one answered) and open
// loop (requests scheduled at a fixed rate, latency measured from the
// scheduled time so that a stalled server cannot hide its stall by slowing
// the generator down: "coordinated omission").
package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Func performs one request and reports how many items it carried (a batch
// of 8 is 8 items). A non-nil error counts the request as failed.
type Func func(ctx context.Context) (items int, err error)

// Kinder is implemented by errors that know their own kind, such as an
// HTTP status error ("http_503").
type Kinder interface {
	Kind() string
}

// Kind names the kind of a failed request for Result.Errors: the error's own
// Kind if it has one, "timeout" for an expired deadline, "canceled", else "error".
func Kind(err error) string {
	var k Kinder
	switch {
	case errors.As(err, &k):
		return k.Kind()
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	default:
		return "error"
	}
}

// StatusError is a failed HTTP answer; its kind is "http_<status>".
type StatusError struct {
	Status int
	Body   string
}

// Error says the status and the body the server sent.
func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

// Kind is "http_<status>".
func (e *StatusError) Kind() string { return fmt.Sprintf("http_%d", e.Status) }

// recorder collects outcomes from concurrent callers; each caller keeps its
// own samples and merges once at the end so recording does not contend.
type recorder struct {
	mu     sync.Mutex
	result Result
}

type local struct {
	requests, items int64
	errors          map[string]int64
	ok, failed      Sample
}

func (l *local) record(items int, err error, latency time.Duration) {
	l.requests++
	if err != nil {
		if l.errors == nil {
			l.errors = map[string]int64{}
		}
		l.errors[Kind(err)]++
		l.failed.Add(latency)
		return
	}
	l.items += int64(items)
	l.ok.Add(latency)
}

func (r *recorder) merge(l *local) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.result.Requests += l.requests
	r.result.Items += l.items
	for k, n := range l.errors {
		if r.result.Errors == nil {
			r.result.Errors = map[string]int64{}
		}
		r.result.Errors[k] += n
	}
	r.result.Latency.Merge(&l.ok)
	r.result.ErrorLatency.Merge(&l.failed)
}
