package quota

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Decision is the outcome of Take.
type Decision struct {
	// Allowed is false when a limit rejected the request (HTTP 429).
	Allowed bool
	// Window names the limit that rejected it: "second", "minute", "hour",
	// "day", "concurrency" or "items". Empty when allowed.
	Window string
	// RetryAfter is when to retry after a rejection (whole seconds, >= 1).
	RetryAfter time.Duration
	// Degraded is true when the store failed and fault tolerance let the
	// request through unchecked.
	Degraded bool
	// Headers are the response headers, as Kong's rate-limiting plugin sends
	// them (plus Retry-After on a rejection). Empty when Degraded. The keys
	// are spelled as Kong spells them, which is not Go's canonical form: copy
	// them with a range loop (Header.Get/Set would miss or respell them).
	Headers http.Header
	// release frees the concurrency slot; nil when no slot was taken.
	release *releaser
}

// Release frees the request's concurrency slot. Call it once the request is
// done; it is safe to call more than once, and on any Decision (it does
// nothing when no slot was taken). With Redis it waits at most the Redis
// timeout; a failed release is left to the slot's expiry.
func (d Decision) Release() {
	if d.release != nil {
		d.release.once.Do(d.release.fn)
	}
}

type releaser struct {
	once sync.Once
	fn   func()
}

// decide turns the counters into the Decision and Kong's headers. It follows
// Kong's rate-limiting plugin: a window stops the request when its usage
// already reached the limit; Remaining counts this request unless another
// window stopped it; RateLimit-* describe the window with the least remaining
// (the longer one on a tie), and Retry-After is that window's reset.
func decide(t Tier, req *takeRequest, u usage) Decision {
	var h headerSet
	d := Decision{Allowed: u.allowed}

	stopped := [numWindows]bool{}
	anyWindowStopped := false
	for w := range numWindows {
		if limit := req.limits[w]; limit > 0 && u.used[w] >= limit {
			stopped[w] = true
			anyWindowStopped = true
		}
	}
	itemsStopped := req.itemsLimit > 0 && u.itemsUsed+req.items > req.itemsLimit

	var (
		best      = window(-1)
		bestLeft  int
		bestReset int64
	)
	for w := range numWindows {
		limit := req.limits[w]
		if limit <= 0 {
			continue
		}
		left := limit - u.used[w]
		if u.allowed || stopped[w] {
			// This request counts, as in Kong: unless another limit
			// stopped it, in which case it was not counted here.
			left--
		}
		left = max(0, left)
		if best < 0 || left < bestLeft || left == bestLeft && w > best {
			best, bestLeft, bestReset = w, left, w.reset(req.now)
		}
		h.set(limitHeaders[w], int64(limit))
		h.set(remainingHeaders[w], int64(left))
	}
	if best >= 0 {
		h.set("RateLimit-Limit", int64(req.limits[best]))
		h.set("RateLimit-Remaining", int64(bestLeft))
		h.set("RateLimit-Reset", bestReset)
	}
	if req.itemsLimit > 0 {
		// Kong's response-ratelimiting names custom limits this way.
		left := req.itemsLimit - u.itemsUsed
		if u.allowed {
			left -= req.items
		}
		h.set("X-RateLimit-Limit-Items-Day", int64(req.itemsLimit))
		h.set("X-RateLimit-Remaining-Items-Day", int64(max(0, left)))
	}

	if u.allowed {
		d.Headers = h.header()
		return d
	}
	// The store rejected: say which limit, and when to retry. When several
	// limits hold the request back, name the one that frees up last.
	var retry int64
	switch {
	case anyWindowStopped:
		d.Window, retry = best.String(), bestReset
		// Kong's Retry-After is the most constrained window's reset; a
		// stopped window always has 0 left, so best is a stopped one.
		if itemsStopped && day.reset(req.now) > retry {
			d.Window, retry = WindowItems, day.reset(req.now)
		}
	case itemsStopped:
		d.Window, retry = WindowItems, day.reset(req.now)
	default:
		// Only the concurrency limit is left; in-flight requests end at any
		// moment, so retry soon.
		d.Window, retry = WindowConcurrency, 1
	}
	d.RetryAfter = time.Duration(retry) * time.Second
	h.set("Retry-After", retry)
	d.Headers = h.header()
	return d
}

// maxHeaders is the most headers decide sets: two per window, RateLimit-*,
// the items limit's two and Retry-After.
const maxHeaders = 2*int(numWindows) + 3 + 2 + 1

// The windows' header names, spelled once rather than per request.
var limitHeaders, remainingHeaders = func() (l, r [numWindows]string) {
	for w := range numWindows {
		l[w], r[w] = "X-RateLimit-Limit-"+headerNames[w], "X-RateLimit-Remaining-"+headerNames[w]
	}
	return l, r
}()

// headerSet collects a Decision's headers: the numbers are written into one
// buffer and become one string, which every value slices, so a decision
// costs a few allocations rather than two or three per header.
type headerSet struct {
	n     int
	names [maxHeaders]string
	ends  [maxHeaders]int
	buf   [maxHeaders * 20]byte // 20 digits hold any int64
	used  int
}

func (s *headerSet) set(name string, value int64) {
	s.names[s.n] = name
	s.used = len(strconv.AppendInt(s.buf[:s.used], value, 10))
	s.ends[s.n] = s.used
	s.n++
}

// header is the collected headers, each under Kong's exact spelling
// ("X-RateLimit-...", not Go's canonical "X-Ratelimit-..."), so both
// front-ends send what Kong's plugin sends: read them with h[name], not
// h.Get. Each value is a full slice of one, so an append to one cannot
// overwrite the next.
func (s *headerSet) header() http.Header {
	h := make(http.Header, s.n)
	all := string(s.buf[:s.used])
	vals := make([]string, s.n)
	start := 0
	for i := range s.n {
		vals[i] = all[start:s.ends[i]]
		start = s.ends[i]
		h[s.names[i]] = vals[i : i+1 : i+1]
	}
	return h
}
