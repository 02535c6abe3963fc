package quota

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
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

// CounterFileName is the counter file's name in Kong's prefix. The name
// carries the layout's version: a plugin server of another layout (the
// previous release, during the `kong reload` that upgrades it) locks
// differently, so the two must not share a file; each counts in its own
// while they overlap.
const CounterFileName = "modelgate-quota2.counters"

// fileMagic names the layout; a file with another header is reset.
var fileMagic = []byte("modelgate-quota2")

// Field offsets in a record.
const (
	offKey       = 0  // [16]byte
	offPeriod    = 16 // [numWindows]int64
	offCount     = 48 // [numWindows]int64
	offItemsDay  = 80
	offItems     = 88
	offExpiresAt = 96
	// offLock is the record's lock: the pid of the process whose take
	// holds it, 0 when free (see lockRecord).
	offLock = 104
)

// fileStore keeps policy local's window and item counters in a shared,
// memory-mapped file, so that every plugin server of one Kong node counts
// together: `kong reload` runs the old and the new generation's plugin
// servers at once (Kong 3.9.3, kong/runloop/plugin_servers/process.lua),
// and both see and take the same counts while they overlap, as Kong's own
// local rate limiting does in ngx.shared. Nothing is copied at exit: the
// counts are in the file all along.
//
// A take makes no system call: mu orders this process's goroutines, and a
// lock word in the consumer's record, taken with a compare-and-swap on the
// mapped memory, orders the processes (lockRecord). flock (which the kernel
// drops with a dead process) orders only changes of the layout: sizing the
// file, and claiming a record for a consumer that has none, so that two
// processes never claim two records for one consumer.
//
// Requests in flight (the concurrency limit) stay in the process: a slot
// lives and dies with the request that holds it.
type fileStore struct {
	mu   sync.Mutex
	f    *os.File
	data []byte
	pid  uint32 // this process's, the value of the records' locks it holds
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
	s := &fileStore{f: f, pid: uint32(os.Getpid()), slots: map[string]map[string]struct{}{}, overflow: newLocalStore()}
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

// record returns consumer's record, locked, claiming a free or expired one
// for it if it has none; nil when the probe found neither. The caller
// unlocks it.
func (s *fileStore) record(consumer string, now int64) ([]byte, error) {
	sum := sha256.Sum256([]byte(consumer))
	key := sum[:16]
	start := binary.LittleEndian.Uint64(sum[16:24]) % fileSlots
	if r := s.find(key, start); r != nil {
		return r, nil
	}
	if err := s.lock(); err != nil {
		return nil, fmt.Errorf("locking the quota counter file: %w", err)
	}
	defer s.unlock()
	// Under flock no other process claims a record: look again (one may
	// have claimed this consumer's since), then claim.
	if r := s.find(key, start); r != nil {
		return r, nil
	}
	for i := range uint64(maxProbe) {
		r := s.slot(start + i)
		if get(r, offExpiresAt) > now {
			continue
		}
		s.lockRecord(r)
		// Its owner may have come back since the look above.
		if get(r, offExpiresAt) <= now {
			clear(r[:offLock])
			copy(r[offKey:], key)
			return r, nil
		}
		s.unlockRecord(r)
	}
	return nil, nil
}

// slot is the i-th record of the table (mod its size).
func (s *fileStore) slot(i uint64) []byte {
	off := recordSize * (1 + i%fileSlots)
	return s.data[off : off+recordSize : off+recordSize]
}

// find returns the locked record holding key among the probe's, nil when
// none does. A key is read unlocked, then checked again under the lock: a
// record is only ever claimed under its lock.
func (s *fileStore) find(key []byte, start uint64) []byte {
	for i := range uint64(maxProbe) {
		r := s.slot(start + i)
		if !bytes.Equal(r[offKey:offKey+16], key) {
			continue
		}
		s.lockRecord(r)
		if bytes.Equal(r[offKey:offKey+16], key) {
			return r
		}
		s.unlockRecord(r)
	}
	return nil
}

// How lockRecord waits: it yields a few times (the holder is in a take of
// a few hundred nanoseconds), then sleeps, and after deadHolderAfter asks
// whether the holder still runs. A holder seen holding the lock for
// staleLockAfter is taken over too, even though a process of its pid runs:
// the pid was reused after the holder died (a container restarted on the
// same prefix often gets the same pids, its own included), or the holder
// is stopped (SIGSTOP, a frozen cgroup); a lost count then costs less than
// every take on the node waiting forever.
const (
	lockYields      = 64
	lockSleep       = 20 * time.Microsecond
	deadHolderAfter = 10 * time.Millisecond
	staleLockAfter  = time.Second
)

// lockRecord takes r's lock word for this process. The kernel does not
// release it when a process dies mid-take, as it does a flock: a waiter
// that has waited deadHolderAfter and finds the holder's pid gone, or has
// seen the same holder for staleLockAfter, takes the lock over (the
// holder's take's counts stand as far as it wrote them). The word names a
// process, not a store: two stores of one process on one file (two plugin
// configs) wait for each other like two processes.
func (s *fileStore) lockRecord(r []byte) {
	w := lockWord(r)
	var waited time.Duration
	var seen uint32
	var seenSince time.Time
	for i := 0; ; i++ {
		if w.CompareAndSwap(0, s.pid) {
			return
		}
		if i < lockYields {
			runtime.Gosched()
			continue
		}
		time.Sleep(lockSleep)
		if waited += lockSleep; waited < deadHolderAfter {
			continue
		}
		waited = 0
		holder := w.Load()
		if holder == 0 {
			continue
		}
		if holder != seen {
			seen, seenSince = holder, time.Now()
		}
		if (!running(holder) || time.Since(seenSince) >= staleLockAfter) && w.CompareAndSwap(holder, s.pid) {
			return
		}
	}
}

func (s *fileStore) unlockRecord(r []byte) { lockWord(r).Store(0) }

// lockWord is r's lock as an atomic word in the mapped file, shared with
// every process that maps it (mmap's pages are aligned, offLock is too).
func lockWord(r []byte) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&r[offLock]))
}

// running reports whether process pid exists (signal 0 checks without
// sending one; EPERM is a process of another user).
func running(pid uint32) bool {
	return !errors.Is(syscall.Kill(int(pid), 0), syscall.ESRCH)
}

func (s *fileStore) take(ctx context.Context, r *takeRequest) (usage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data == nil {
		return usage{}, errors.New("the quota counter file is closed") // the plugin server is stopping
	}
	rec, err := s.record(r.consumer, r.now.Unix())
	if err != nil {
		return usage{}, err
	}
	if rec == nil {
		return s.overflow.take(ctx, r)
	}
	defer s.unlockRecord(rec)
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
