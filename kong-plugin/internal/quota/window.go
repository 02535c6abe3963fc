package quota

import "time"

// window is one of the fixed request windows, as Kong's rate-limiting
// plugin counts them: aligned to the start of the UTC second, minute, hour
// and day.
type window int

const (
	second window = iota
	minute
	hour
	day
	numWindows
)

// The Decision.Window values for rejections that are not request windows.
const (
	WindowConcurrency = "concurrency"
	WindowItems       = "items"
)

var windowNames = [numWindows]string{"second", "minute", "hour", "day"}

// headerNames are the Kong header suffixes of each window.
var headerNames = [numWindows]string{"Second", "Minute", "Hour", "Day"}

var windowSeconds = [numWindows]int64{1, 60, 3600, 86400}

func (w window) String() string { return windowNames[w] }

// start is the Unix second the window containing now began.
func (w window) start(now time.Time) int64 {
	s := now.Unix()
	return s - s%windowSeconds[w]
}

// reset is the whole seconds until the window containing now ends, at least
// 1 (Kong's RateLimit-Reset).
func (w window) reset(now time.Time) int64 {
	left := windowSeconds[w] - (now.Unix() - w.start(now))
	return max(1, left)
}

// limits returns a tier's request limit per window.
func (t Tier) limits() [numWindows]int {
	return [numWindows]int{t.Second, t.Minute, t.Hour, t.Day}
}
