package quota

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
	"github.com/modelgate/modelgate/kong-plugin/internal/trust"
)

// redisStore keeps counters in Redis, shared by every Kong node. Each
// request runs one Lua script that checks and takes every limit atomically,
// so two nodes never both take the last unit of a window.
type redisStore struct {
	client  redis.UniversalClient
	timeout time.Duration
}

func newRedisStore(cfg Redis, timeout time.Duration, watch secret.WatchOptions) (*redisStore, error) {
	var password *secret.Source[string]
	if cfg.Password != "" {
		var err error
		password, err = secret.Watch(cfg.Password, func(b []byte) (string, error) { return string(b), nil }, watch)
		if err != nil {
			return nil, fmt.Errorf("quotas.redis.password: %w", err)
		}
	}
	opts := &redis.UniversalOptions{
		Addrs:    []string{cfg.Addr},
		Username: cfg.Username,
		DB:       cfg.DB,
		// Every wait is bounded by the one short timeout, and nothing is
		// retried, dialling included: a retry (go-redis dials 5 times with
		// 100ms pauses by default) would spend the whole timeout on every
		// request while Redis is down, instead of failing at once.
		DialTimeout:           timeout,
		DialerRetries:         1,
		ReadTimeout:           timeout,
		WriteTimeout:          timeout,
		PoolTimeout:           timeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		DisableIdentity:       true,
		IsClusterMode:         cfg.Cluster,
	}
	opts.Dialer = boundedDialer(trust.FromEnv(), timeout)
	if password != nil {
		// Asked at every new connection, so a rotated password file (a
		// Kubernetes Secret update) is used from the next dial on, without a
		// restart; connections already authenticated stay as they are.
		opts.CredentialsProvider = func() (string, string) { return cfg.Username, password.Get() }
	}
	return &redisStore{client: redis.NewUniversalClient(opts), timeout: timeout}, nil
}

// boundedDialer dials every Redis node go-redis connects to: the configured
// address and, in a cluster, each node CLUSTER SLOTS reports or a MOVED or
// ASK redirect names. An address the operator's MODELGATE_ALLOW_REDIS does
// not list is refused before any connection exists, so the password, which
// go-redis sends on each new connection, never reaches it; the refusal is
// logged once per address. (As go-redis's own dialer: DialTimeout, and a
// 5-minute TCP keep-alive.)
func boundedDialer(policy trust.Policy, timeout time.Duration) func(context.Context, string, string) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 5 * time.Minute}
	var refused sync.Map
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err := policy.CheckRedis(addr); err != nil {
			if _, logged := refused.LoadOrStore(addr, true); !logged {
				slog.Error("quotas.redis: not connecting to a Redis node outside the allowed addresses", "addr", addr, "err", err)
			}
			return nil, fmt.Errorf("quotas.redis: node %w", err)
		}
		return d.DialContext(ctx, network, addr)
	}
}

// takeScript checks and takes one request's quota. KEYS: the second, minute,
// hour and day counters, the day's items counter, the in-flight slot set.
// ARGV: the four limits, the items limit, the items, the concurrency limit,
// now (ms), the slot id, the slot's expiry (ms), the four window TTLs (s) and
// the items TTL (s). A zero limit skips its key. It returns
// {allowed, used second, minute, hour, day, items used, in flight}, the
// counts before this request.
//
// The slot set holds slot ids scored by expiry: expired slots (of a plugin
// server that died holding them) are dropped before counting, and the set
// itself expires with its last slot.
var takeScript = redis.NewScript(`
local used = {0, 0, 0, 0}
local stop = false
for i = 1, 4 do
  local limit = tonumber(ARGV[i])
  if limit > 0 then
    used[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
    if used[i] >= limit then stop = true end
  end
end
local items_limit = tonumber(ARGV[5])
local items = tonumber(ARGV[6])
local items_used = 0
if items_limit > 0 then
  items_used = tonumber(redis.call('GET', KEYS[5]) or '0')
  if items_used + items > items_limit then stop = true end
end
local concurrency = tonumber(ARGV[7])
local now = tonumber(ARGV[8])
local in_flight = 0
if concurrency > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
  in_flight = redis.call('ZCARD', KEYS[6])
  if in_flight >= concurrency then stop = true end
end
if not stop then
  for i = 1, 4 do
    if tonumber(ARGV[i]) > 0 and redis.call('INCR', KEYS[i]) == 1 then
      redis.call('EXPIRE', KEYS[i], ARGV[10 + i])
    end
  end
  if items_limit > 0 and items > 0 then
    if redis.call('INCRBY', KEYS[5], items) == items then
      redis.call('EXPIRE', KEYS[5], ARGV[15])
    end
  end
  if concurrency > 0 then
    local expiry = tonumber(ARGV[10])
    redis.call('ZADD', KEYS[6], expiry, ARGV[9])
    if redis.call('PTTL', KEYS[6]) < expiry - now then
      redis.call('PEXPIRE', KEYS[6], expiry - now)
    end
  end
end
return {stop and 0 or 1, used[1], used[2], used[3], used[4], items_used, in_flight}
`)

// keyTTLMargin keeps a window's key a little past its window, so a node
// whose clock runs slightly behind still finds the count.
const keyTTLMargin = 5

func (s *redisStore) take(ctx context.Context, r *takeRequest) (usage, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	prefix := keyPrefix(r.consumer)
	dayStart := day.start(r.now)
	keys := make([]string, 0, 6)
	args := make([]any, 0, 15)
	for w := range numWindows {
		keys = append(keys, prefix+windowNames[w]+":"+strconv.FormatInt(w.start(r.now), 10))
		args = append(args, r.limits[w])
	}
	keys = append(keys, prefix+"items:"+strconv.FormatInt(dayStart, 10), prefix+"slots")
	nowMs := r.now.UnixMilli()
	args = append(args, r.itemsLimit, r.items, r.concurrency, nowMs, r.slot, r.slotExpiry.UnixMilli())
	for w := range numWindows {
		args = append(args, windowSeconds[w]+keyTTLMargin)
	}
	args = append(args, windowSeconds[day]+keyTTLMargin)

	res, err := takeScript.Run(ctx, s.client, keys, args...).Int64Slice()
	if err != nil {
		return usage{}, fmt.Errorf("redis quota script: %w", err)
	}
	if len(res) != 7 {
		return usage{}, fmt.Errorf("redis quota script: %d results, want 7", len(res))
	}
	u := usage{allowed: res[0] == 1, itemsUsed: int(res[5]), inFlight: int(res[6])}
	for w := range numWindows {
		u.used[w] = int(res[1+w])
	}
	return u, nil
}

func (s *redisStore) release(ctx context.Context, consumer, slot string) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.client.ZRem(ctx, keyPrefix(consumer)+"slots", slot).Err(); err != nil {
		return fmt.Errorf("redis quota release: %w", err)
	}
	return nil
}

func (s *redisStore) close() error { return s.client.Close() }

// keyPrefix is the consumer's key prefix. The braces make it a Redis Cluster
// hash tag, so all of one consumer's keys live in one slot and one script
// may touch them all. The name is escaped so that no consumer name can end
// the tag early or collide with another consumer's keys.
func keyPrefix(consumer string) string {
	return "{modelgate:" + keyEscaper.Replace(consumer) + "}:"
}

var keyEscaper = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D", ":", "%3A")
