// Package pathbound keeps a path named by configuration inside the folders
// the operator allows: the path is made absolute, cleaned (so ".." cannot
// walk out) and resolved through every symlink (so a link inside an allowed
// folder cannot point out of it) before it is compared. Kubernetes' Secret
// volumes stay readable: kubelet's ..data links point inside the volume.
package pathbound

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrOutside is wrapped by every refusal of a path outside the folders.
var ErrOutside = errors.New("outside the allowed folders")

// Folders are the folders a path may lie in (itself or anything below).
type Folders []string

// Resolve returns path absolute, with every symlink resolved, when it lies
// in one of f; else an error wrapping ErrOutside that names path, where it
// resolves to and f. A path that does not exist yet (a socket the sidecar
// will create) is resolved as far as it exists: its existing parent
// through its symlinks, the rest as written.
func (f Folders) Resolve(path string) (string, error) {
	resolved, err := resolve(path)
	if err != nil {
		return "", err
	}
	for _, dir := range f {
		if within(resolved, dir) {
			return resolved, nil
		}
	}
	if resolved == filepath.Clean(path) {
		return "", fmt.Errorf("%s is %w (%s)", path, ErrOutside, f)
	}
	return "", fmt.Errorf("%s resolves to %s, %w (%s)", path, resolved, ErrOutside, f)
}

// String lists the folders as an operator would write them.
func (f Folders) String() string {
	if len(f) == 0 {
		return "none"
	}
	return strings.Join(f, ", ")
}

// within reports whether resolved lies in dir, comparing dir both as
// written and resolved (an allowed /etc/modelgate may itself be a link).
func within(resolved, dir string) bool {
	if !filepath.IsAbs(dir) {
		return false
	}
	for _, d := range []string{filepath.Clean(dir), resolvedDir(dir)} {
		if d == "/" || resolved == d || strings.HasPrefix(resolved, d+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

func resolvedDir(dir string) string {
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		return r
	}
	return filepath.Clean(dir)
}

// resolve makes path absolute and resolves its symlinks; the part that
// does not exist is kept as written (cleaned).
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	rest := ""
	for dir := abs; ; dir = filepath.Dir(dir) {
		r, err := filepath.EvalSymlinks(dir)
		if err == nil {
			return filepath.Join(r, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) || dir == filepath.Dir(dir) {
			return "", err
		}
		// A dangling link is not "does not exist yet": it points somewhere,
		// and following it later could leave the folders.
		if _, lerr := os.Lstat(dir); lerr == nil {
			return "", fmt.Errorf("%s is a symlink to a missing file: %w", dir, err)
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}
