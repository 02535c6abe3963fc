package quota

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
)

// The counter file's layout: a header record, then fileSlots records of
// recordSize bytes, each one consumer's windows (an open-addressing table
// keyed by the first 16 bytes of the consumer name's SHA-256).
const (
	recordSize = 128
	fileSlots  = 1 << 16 // 8 MiB, sparse until consumers arrive
	fileSize   = recordSize * (fileSlots + 1)
	// maxProbe bounds the search for a consumer's record; a consumer that
	// finds neither its record nor a free one within it is counted in
	// this process only (fileStore.overflow).
	maxProbe = 64
)

// fileMagic names the layout; a file with another header is reset.
var fileMagic = []byte("modelgate-quota1")

// Field offsets in a record.
const (
	offKey       = 0  // [16]byte
	offPeriod    = 16 // [numWindows]int64
	offCount     = 48 // [numWindows]int64
	offItemsDay  = 80
	offItems     = 88
	offExpiresAt = 96
)

// fileStore keeps policy local's window and item counters in a shared,
// memory-mapped file, so that every plugin server of one Kong node counts
// together: `kong reload` runs the old and the new generation's plugin
// servers at once (Kong 3.9.3, kong/runloop/plugin_servers/process.lua),
// and both see and take the same counts while they overlap, as Kong's own
// local rate limiting does in ngx.shared. Nothing is copied at exit: the
// counts are in the file all along. flock orders the processes (the kernel
// drops a dead process's lock); mu orders this process's goroutines, which
// share one open file and so one flock.
//
// Requests in flight (the concurrency limit) stay in the process: a slot
// lives and dies with the request that holds it.
type fileStore struct {
	mu   sync.Mutex
	f    *os.File
	data []byte
	// slots are this process's requests in flight, per consumer.
	slots map[string]map[string]struct{}
	// overflow counts the consumers the table has no room for.
	overflow *localStore
}

func openFileStore(path string) (*fileStore, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("quota counter file: %w", err)
	}
	s := &fileStore{f: f, slots: map[string]map[string]struct{}{}, overflow: newLocalStore()}
	if err := s.init(); err != nil {
		f.Close()
		return nil, fmt.Errorf("quota counter file %s: %w", path, err)
	}
	return s, nil
}

// init sizes the file, resets one of another layout and maps it.
func (s *fileStore) init() error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.unlock()
	st, err := s.f.Stat()
	if err != nil {
		return err
	}
	header := make([]byte, len(fileMagic))
	if st.Size() != fileSize || readFull(s.f, header) != nil || !bytes.Equal(header, fileMagic) {
		if err := s.f.Truncate(0); err != nil {
			return err
		}
		if err := s.f.Truncate(fileSize); err != nil {
			return err
		}
		if _, err := s.f.WriteAt(fileMagic, 0); err != nil {
			return err
		}
	}
	s.data, err = syscall.Mmap(int(s.f.Fd()), 0, fileSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	return err
}

func readFull(f *os.File, b []byte) error {
	n, err := f.ReadAt(b, 0)
	if n == len(b) {
		return nil
	}
	return errors.Join(errors.New("short header"), err)
}

func (s *fileStore) lock() error {
	for {
		err := syscall.Flock(int(s.f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

func (s *fileStore) unlock() { _ = syscall.Flock(int(s.f.Fd()), syscall.LOCK_UN) }

// record finds consumer's record, claiming a free or expired one for it if
// it has none; nil when the probe found neither.
func (s *fileStore) record(consumer string, now int64) []byte {
	sum := sha256.Sum256([]byte(consumer))
	key := sum[:16]
	start := binary.LittleEndian.Uint64(sum[16:24]) % fileSlots
	var free []byte
	for i := range uint64(maxProbe) {
		off := recordSize * (1 + (start+i)%fileSlots)
		r := s.data[off : off+recordSize]
		if bytes.Equal(r[offKey:offKey+16], key) {
			return r
		}
		if free == nil && get(r, offExpiresAt) <= now {
			free = r // never used (0), or every period in it has ended
		}
	}
	if free != nil {
		clear(free)
		copy(free[offKey:], key)
	}
	return free
}

func (s *fileStore) take(ctx context.Context, r *takeRequest) (usage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data == nil {
		return usage{}, errors.New("the quota counter file is closed") // the plugin server is stopping
	}
	if err := s.lock(); err != nil {
		return usage{}, fmt.Errorf("locking the quota counter file: %w", err)
	}
	defer s.unlock()
	rec := s.record(r.consumer, r.now.Unix())
	if rec == nil {
		return s.overflow.take(ctx, r)
	}
	var u usage
	stop := false
	for w := range numWindows {
		if r.limits[w] <= 0 {
			continue
		}
		if start := w.start(r.now); get(rec, offPeriod+8*int(w)) != start {
			put(rec, offPeriod+8*int(w), start)
			put(rec, offCount+8*int(w), 0)
		}
		u.used[w] = int(get(rec, offCount+8*int(w)))
		stop = stop || u.used[w] >= r.limits[w]
	}
	dayStart := day.start(r.now)
	if r.itemsLimit > 0 {
		if get(rec, offItemsDay) != dayStart {
			put(rec, offItemsDay, dayStart)
			put(rec, offItems, 0)
		}
		u.itemsUsed = int(get(rec, offItems))
		stop = stop || u.itemsUsed+r.items > r.itemsLimit
	}
	slots := s.slots[r.consumer]
	if r.concurrency > 0 {
		u.inFlight = len(slots)
		stop = stop || u.inFlight >= r.concurrency
	}
	if stop {
		return u, nil
	}

	u.allowed = true
	expires := get(rec, offExpiresAt)
	for w := range numWindows {
		if r.limits[w] > 0 {
			put(rec, offCount+8*int(w), get(rec, offCount+8*int(w))+1)
			expires = max(expires, get(rec, offPeriod+8*int(w))+windowSeconds[w])
		}
	}
	if r.itemsLimit > 0 {
		put(rec, offItems, get(rec, offItems)+int64(r.items))
		expires = max(expires, dayStart+windowSeconds[day])
	}
	put(rec, offExpiresAt, expires)
	if r.concurrency > 0 {
		if slots == nil {
			slots = map[string]struct{}{}
			s.slots[r.consumer] = slots
		}
		slots[r.slot] = struct{}{}
	}
	return u, nil
}

func (s *fileStore) release(ctx context.Context, consumer, slot string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slots := s.slots[consumer]; slots != nil {
		delete(slots, slot)
		if len(slots) == 0 {
			delete(s.slots, consumer)
		}
	}
	return s.overflow.release(ctx, consumer, slot)
}

func (s *fileStore) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.data != nil {
		err = syscall.Munmap(s.data)
		s.data = nil
	}
	return errors.Join(err, s.f.Close())
}

func get(r []byte, off int) int64 { return int64(binary.LittleEndian.Uint64(r[off:])) }

func put(r []byte, off int, v int64) { binary.LittleEndian.PutUint64(r[off:], uint64(v)) }
