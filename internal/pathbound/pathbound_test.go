package pathbound

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestResolve: a file in an allowed folder (directly, through a link that
// stays inside, or through kubelet's ..data swap) is accepted; ".." and a
// link that leave the folder are refused, naming the path, where it leads
// and the folders.
func TestResolve(t *testing.T) {
	root := t.TempDir()
	allowed := filepath.Join(root, "allowed")
	outside := filepath.Join(root, "outside")
	for _, d := range []string{allowed, outside, filepath.Join(allowed, "..2026_11_30"), filepath.Join(allowed, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string) {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		if err := os.Symlink(target, name); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(allowed, "key"))
	write(filepath.Join(allowed, "..2026_11_30", "password"))
	write(filepath.Join(outside, "secret"))
	link("..2026_11_30", filepath.Join(allowed, "..data"))
	link("..data/password", filepath.Join(allowed, "password"))
	link(filepath.Join(outside, "secret"), filepath.Join(allowed, "escape"))
	link(outside, filepath.Join(allowed, "sub", "dir"))
	link(filepath.Join(allowed, "gone"), filepath.Join(allowed, "dangling"))
	f := Folders{allowed}

	for _, ok := range []struct{ path, want string }{
		{filepath.Join(allowed, "key"), filepath.Join(allowed, "key")},
		{filepath.Join(allowed, "password"), filepath.Join(allowed, "..2026_11_30", "password")},
		{filepath.Join(allowed, "sub", "..", "key"), filepath.Join(allowed, "key")},
		{filepath.Join(allowed, "not-yet", "sidecar.sock"), filepath.Join(allowed, "not-yet", "sidecar.sock")},
		{allowed, allowed},
	} {
		if got, err := f.Resolve(ok.path); err != nil || got != ok.want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", ok.path, got, err, ok.want)
		}
	}
	for _, bad := range []struct{ path, leads string }{
		{filepath.Join(allowed, "..", "outside", "secret"), filepath.Join(outside, "secret")},
		{filepath.Join(allowed, "escape"), filepath.Join(outside, "secret")},
		{filepath.Join(allowed, "sub", "dir", "secret"), filepath.Join(outside, "secret")},
		{filepath.Join(allowed, "sub", "dir", "absent"), filepath.Join(outside, "absent")},
		{allowed + "-sibling/key", allowed + "-sibling/key"},
		{"/etc/passwd", "/etc/passwd"},
	} {
		_, err := f.Resolve(bad.path)
		if !errors.Is(err, ErrOutside) || !strings.Contains(err.Error(), bad.leads) || !strings.Contains(err.Error(), allowed) {
			t.Errorf("Resolve(%s): %v; want ErrOutside naming %s and %s", bad.path, err, bad.leads, allowed)
		}
	}
	if _, err := f.Resolve(filepath.Join(allowed, "dangling")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dangling link: %v", err)
	}
	if _, err := (Folders{"relative/dir"}).Resolve(filepath.Join(allowed, "key")); !errors.Is(err, ErrOutside) {
		t.Errorf("a relative folder allows nothing: %v", err)
	}
}

// TestResolveRelative: a relative path is the working directory's.
func TestResolveRelative(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("key", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	if got, err := (Folders{dir}).Resolve("key"); err != nil || got != filepath.Join(real, "key") {
		t.Errorf("Resolve(key) = %q, %v", got, err)
	}
}

// FuzzResolve: whatever path is asked for (dots, slashes, links that lead
// out), an accepted one resolves to the allowed folder or below it.
func FuzzResolve(f *testing.F) {
	root := f.TempDir()
	allowed := filepath.Join(root, "allowed")
	if err := os.MkdirAll(filepath.Join(allowed, "sub"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.Symlink(root, filepath.Join(allowed, "up")); err != nil {
		f.Fatal(err)
	}
	if err := os.Symlink("sub", filepath.Join(allowed, "in")); err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"key", "../key", "up/allowed/key", "in/../../x", "sub/./in/..//key", "/etc/passwd", "up"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		if strings.ContainsRune(rel, 0) {
			return
		}
		got, err := Folders{allowed}.Resolve(filepath.Join(allowed, rel))
		if err == nil && got != allowed && !strings.HasPrefix(got, allowed+"/") {
			t.Fatalf("Resolve(%q) = %q, outside %s", rel, got, allowed)
		}
	})
}
