package registry

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// swap exchanges the names of two folders in one step (renameat2 with
// RENAME_EXCHANGE); swapped is false where the file system cannot.
func swap(a, b string) (swapped bool, err error) {
	err = unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOTSUP):
		return false, nil
	}
	return false, &os.LinkError{Op: "renameat2", Old: a, New: b, Err: err}
}
