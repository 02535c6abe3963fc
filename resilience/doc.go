// Package resilience is modelgate's resilience suite. It runs the real
// `modelgate serve` binary with a real sidecar process and real Redis, and
// checks what a client sees while the sidecar is SIGKILLed, a model version
// is rolled, Redis goes away, and bad input arrives: failures of the kind a
// client can act on (4xx for its own mistakes, 503 with Retry-After while a
// dependency is down), never a hang or a crash.
//
// The fast cases run in `make test`. The memory soak (100,000 requests) is
// behind the soak build tag and runs with `make soak`.
package resilience
