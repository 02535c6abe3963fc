package secret

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/modelgate/modelgate/internal/pathbound"
)

// syncBuffer collects log output from concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestWatchFollowsSymlinkSwap swaps the ..data symlink a file secret
// resolves through, as kubelet does on a Secret update: Get returns the new
// value, the rotation is logged by reference only, and a new content that
// does not parse keeps the value in use.
func TestWatchFollowsSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	write := func(gen, value string) {
		if err := os.Mkdir(filepath.Join(dir, gen), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, gen, "password"), []byte(value+"\n"), 0o400); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(gen, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	write("..gen1", "first-password-value")
	if err := os.Symlink("..data/password", filepath.Join(dir, "password")); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	parse := func(b []byte) (string, error) {
		if bytes.HasPrefix(b, []byte("bad")) {
			return "", errors.New("does not parse")
		}
		return string(b), nil
	}
	ref := "file:" + filepath.Join(dir, "password")
	s, err := Watch(ref, parse, WatchOptions{CheckInterval: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Get(); got != "first-password-value" {
		t.Fatalf("Get = %q", got)
	}
	if got := s.Get(); got != "first-password-value" || logs.String() != "" {
		t.Fatalf("unchanged file: %q, logged %q", got, logs.String())
	}

	write("..gen2", "second-password-value")
	os.RemoveAll(filepath.Join(dir, "..gen1"))
	if got := s.Get(); got != "second-password-value" {
		t.Errorf("after the swap: Get = %q", got)
	}
	if l := logs.String(); !strings.Contains(l, "secret rotated") || !strings.Contains(l, ref) || strings.Contains(l, "password-value") {
		t.Errorf("rotation log %q: want the reference, never the value", l)
	}

	write("..gen3", "bad-password-value")
	if got := s.Get(); got != "second-password-value" {
		t.Errorf("unparsable update: Get = %q, want the value before", got)
	}
	if l := logs.String(); !strings.Contains(l, "does not parse") || strings.Contains(l, "bad-password") {
		t.Errorf("log %q", l)
	}
}

// TestWatchRefusesALinkRepointedOutside: after start, the ..data link is
// swapped to a folder outside the allowed ones; the re-read is refused
// and logged, and the value read before stays in use.
func TestWatchRefusesALinkRepointedOutside(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	for d, value := range map[string]string{filepath.Join(dir, "..gen1"): "inside-value", outside: "outside-value"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "password"), []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target string) {
		if err := os.Symlink(target, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	link("..gen1")
	if err := os.Symlink("..data/password", filepath.Join(dir, "password")); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	s, err := Watch("file:"+filepath.Join(dir, "password"), func(b []byte) (string, error) { return string(b), nil },
		WatchOptions{CheckInterval: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Folders: pathbound.Folders{dir}})
	if err != nil {
		t.Fatal(err)
	}
	link(outside)
	if got := s.Get(); got != "inside-value" {
		t.Errorf("after the link left the folder: Get = %q, want the value before", got)
	}
	if l := logs.String(); !strings.Contains(l, "outside the allowed folders") || !strings.Contains(l, "level=ERROR") || strings.Contains(l, "-value") {
		t.Errorf("log %q: want an error naming the refusal, never a value", l)
	}
}

// TestWatchEnv: an env: secret is read once; changing the variable later
// changes nothing (nginx's environment is fixed at start anyway).
func TestWatchEnv(t *testing.T) {
	t.Setenv("TEST_WATCH_SECRET", "from-env")
	s, err := Watch("env:TEST_WATCH_SECRET", func(b []byte) (string, error) { return string(b), nil }, WatchOptions{CheckInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_WATCH_SECRET", "changed")
	if got := s.Get(); got != "from-env" {
		t.Errorf("Get = %q", got)
	}
	if _, err := Watch("file:"+filepath.Join(t.TempDir(), "absent"), func(b []byte) (string, error) { return string(b), nil }, WatchOptions{}); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("missing file: %v", err)
	}
}

// BenchmarkSourceGet is the cost a request pays for a followed file secret
// between checks (an atomic load and a clock read).
func BenchmarkSourceGet(b *testing.B) {
	path := filepath.Join(b.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("value"), 0o600); err != nil {
		b.Fatal(err)
	}
	s, err := Watch("file:"+path, func(b []byte) (string, error) { return string(b), nil }, WatchOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Get()
	}
}
