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
	h := http.Header{}
	d := Decision{Allowed: u.allowed, Headers: h}

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
		setHeader(h, "X-RateLimit-Limit-"+headerNames[w], strconv.Itoa(limit))
		setHeader(h, "X-RateLimit-Remaining-"+headerNames[w], strconv.Itoa(left))
	}
	if best >= 0 {
		setHeader(h, "RateLimit-Limit", strconv.Itoa(req.limits[best]))
		setHeader(h, "RateLimit-Remaining", strconv.Itoa(bestLeft))
		setHeader(h, "RateLimit-Reset", strconv.FormatInt(bestReset, 10))
	}
	if req.itemsLimit > 0 {
		// Kong's response-ratelimiting names custom limits this way.
		left := req.itemsLimit - u.itemsUsed
		if u.allowed {
			left -= req.items
		}
		setHeader(h, "X-RateLimit-Limit-Items-Day", strconv.Itoa(req.itemsLimit))
		setHeader(h, "X-RateLimit-Remaining-Items-Day", strconv.Itoa(max(0, left)))
	}

	if u.allowed {
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
	setHeader(h, "Retry-After", strconv.FormatInt(retry, 10))
	return d
}

// setHeader stores a header under Kong's exact spelling ("X-RateLimit-...",
// not Go's canonical "X-Ratelimit-..."), so both front-ends send what Kong's
// plugin sends. Read such keys with h[name], not h.Get.
func setHeader(h http.Header, name, value string) {
	h[name] = []string{value}
}
