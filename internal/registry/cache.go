package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
)

// Cache is a content-addressed store of blobs on disk, DIR/ALGORITHM/HEX.
// A blob enters it only after its digest checked, by rename, so whatever it
// holds is what the name says.
type Cache struct {
	Dir string
}

func (c *Cache) path(d digest.Digest) string {
	return filepath.Join(c.Dir, d.Algorithm().String(), d.Encoded())
}

// ensure makes the blob present, fetching it unless it is there; it returns
// the bytes fetched.
func (c *Cache) ensure(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor) (int64, error) {
	blob := c.path(desc.Digest)
	if _, err := os.Stat(blob); err == nil {
		return 0, nil
	}
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp(c.Dir, ".fetch-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	if err := fetchFile(ctx, repo, desc, filepath.Join(tmp, "blob")); err != nil {
		return 0, err
	}
	if err := os.Rename(filepath.Join(tmp, "blob"), blob); err != nil {
		return 0, err
	}
	return desc.Size, nil
}

// link puts the blob at file: a hard link to the cached copy (a copy where
// the file system refuses links).
func (c *Cache) link(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor, file string) (int64, error) {
	n, err := c.ensure(ctx, repo, desc)
	if err != nil {
		return n, err
	}
	if err := os.Link(c.path(desc.Digest), file); err == nil {
		return n, nil
	}
	return n, copyFile(c.path(desc.Digest), file)
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// Prune removes the blobs no version folder links to any more (their link
// count is 1: the cache's own name) and returns how many it removed.
func (c *Cache) Prune() (int, error) {
	removed := 0
	err := filepath.WalkDir(c.Dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Nlink == 1 {
			if err := os.Remove(p); err != nil {
				return err
			}
			removed++
		}
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("pruning the blob cache: %w", err)
	}
	return removed, nil
}
