package quota

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// TestCounterFileSharedBetweenProcesses: two Limiters on one counter file,
// each with its own open file (as two plugin servers during `kong reload`
// have), count together while they overlap, exactly under concurrency, and
// a Limiter opened after both closed (the next generation) continues the
// count.
func TestCounterFileSharedBetweenProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), CounterFileName)
	cfg := tiers(Tier{Name: "t", Day: 100, ItemsPerDay: 1000})
	a, _ := newTestLimiter(t, cfg, WithCounterFile(path))
	b, _ := newTestLimiter(t, cfg, WithCounterFile(path))
	var allowed, items sync.Map
	var wg sync.WaitGroup
	for i := range 8 {
		l := []*Limiter{a, b}[i%2]
		wg.Go(func() {
			for range 20 {
				d := take(t, l, "alice", "t", 2)
				if d.Allowed {
					n, _ := allowed.LoadOrStore(i, new(int))
					*n.(*int)++
					m, _ := items.LoadOrStore(i, new(int))
					*m.(*int) += 2
				}
				d.Release()
			}
		})
	}
	wg.Wait()
	total := 0
	allowed.Range(func(_, v any) bool { total += *v.(*int); return true })
	if total != 100 {
		t.Fatalf("%d requests allowed by two processes sharing a day limit of 100", total)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	next, _ := newTestLimiter(t, tiers(Tier{Name: "t", Day: 300, ItemsPerDay: 1000}), WithCounterFile(path))
	d := take(t, next, "alice", "t", 0)
	if !d.Allowed || hdr(d.Headers, "X-RateLimit-Remaining-Day") != "199" {
		t.Fatalf("the next generation: %+v; want remaining 199 of 300 (100 counted before)", d)
	}
}

// TestCounterFileOfAnotherLayout: a file that is not a counter file of this
// layout (a leftover, a truncated one) is reset, not trusted.
func TestCounterFileOfAnotherLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "counters")
	if err := os.WriteFile(path, []byte("not a counter file"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, _ := newTestLimiter(t, tiers(Tier{Name: "t", Day: 5}), WithCounterFile(path))
	if d := take(t, l, "alice", "t", 0); !d.Allowed || hdr(d.Headers, "X-RateLimit-Remaining-Day") != "4" {
		t.Fatalf("%+v", d)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != fileSize {
		t.Errorf("counter file %v %v, want %d bytes", st, err, fileSize)
	}
}

// TestCounterFileFull: a consumer that finds no room in the table is still
// counted, in the process.
func TestCounterFileFull(t *testing.T) {
	l, _ := newTestLimiter(t, tiers(Tier{Name: "t", Day: 2}), WithCounterFile(filepath.Join(t.TempDir(), "counters")))
	s := l.store.(*fileStore)
	for i := range fileSlots { // every record taken by a live consumer
		off := recordSize * (1 + i)
		s.data[off] = 0xff
		put(s.data[off:off+recordSize], offExpiresAt, 1<<62)
	}
	for want := 1; want >= 0; want-- {
		d := take(t, l, "alice", "t", 0)
		if !d.Allowed || hdr(d.Headers, "X-RateLimit-Remaining-Day") != string(rune('0'+want)) {
			t.Fatalf("%+v, want allowed with %d remaining", d, want)
		}
	}
	if d := take(t, l, "alice", "t", 0); d.Allowed {
		t.Fatal("the overflow counter let a third request through a limit of 2")
	}
}

// TestCounterFileDeadHolder: a record whose lock a process that died
// mid-take still holds (the kernel releases a flock, not a lock word) is
// taken over, and counting goes on from what was counted.
func TestCounterFileDeadHolder(t *testing.T) {
	l, _ := newTestLimiter(t, tiers(Tier{Name: "t", Day: 5}), WithCounterFile(filepath.Join(t.TempDir(), CounterFileName)))
	take(t, l, "alice", "t", 0)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	s := l.store.(*fileStore)
	sum := sha256.Sum256([]byte("alice"))
	rec := s.find(sum[:16], binary.LittleEndian.Uint64(sum[16:24])%fileSlots)
	if rec == nil {
		t.Fatal("alice has no record after a take")
	}
	lockWord(rec).Store(uint32(dead.Process.Pid))
	if d := take(t, l, "alice", "t", 0); !d.Allowed || hdr(d.Headers, "X-RateLimit-Remaining-Day") != "3" {
		t.Fatalf("%+v, want the second request of 5 counted", d)
	}
	if got := lockWord(rec).Load(); got != 0 {
		t.Errorf("the record's lock is %d after the take, want 0 (free)", got)
	}
}

// TestCounterFileStaleHolder: a lock word left holding this process's own
// pid (an earlier process of the same pid, as after a container restart on
// the same prefix) or the pid of a process that runs yet never lets go (a
// reused pid, a stopped holder: pid 1 here) is taken over after
// staleLockAfter; before, both made every take wait forever.
func TestCounterFileStaleHolder(t *testing.T) {
	l, _ := newTestLimiter(t, tiers(Tier{Name: "t", Day: 5}), WithCounterFile(filepath.Join(t.TempDir(), CounterFileName)))
	take(t, l, "alice", "t", 0)
	s := l.store.(*fileStore)
	sum := sha256.Sum256([]byte("alice"))
	rec := s.find(sum[:16], binary.LittleEndian.Uint64(sum[16:24])%fileSlots)
	if rec == nil {
		t.Fatal("alice has no record after a take")
	}
	for i, holder := range []uint32{s.pid, 1} {
		lockWord(rec).Store(holder)
		if d := take(t, l, "alice", "t", 0); !d.Allowed || hdr(d.Headers, "X-RateLimit-Remaining-Day") != strconv.Itoa(3-i) {
			t.Fatalf("lock left by pid %d: %+v, want request %d of 5 counted", holder, d, i+2)
		}
		if got := lockWord(rec).Load(); got != 0 {
			t.Errorf("lock left by pid %d: the record's lock is %d after the take, want 0 (free)", holder, got)
		}
	}
}

// BenchmarkTakeCounterFile is BenchmarkTakeLocal with the counters in a
// counter file: a compare-and-swap on the record's lock word per take, no
// system call.
func BenchmarkTakeCounterFile(b *testing.B) {
	l, err := New(Config{Tiers: []Tier{{Name: "t", Second: 1 << 30, Minute: 1 << 30, Day: 1 << 30, Concurrency: 1 << 20, ItemsPerDay: 1 << 30}}},
		WithCounterFile(filepath.Join(b.TempDir(), "counters")))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d, err := l.Take(context.Background(), "alice", "t", 1)
			if err != nil || !d.Allowed {
				b.Fatal(d, err)
			}
			d.Release()
		}
	})
}
