package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
)

// Pulled is what Pull wrote.
type Pulled struct {
	Model, Version string
	Dir            string // REPO_DIR/MODEL/VERSION
	Digest         digest.Digest
	Files          int
	Bytes          int64 // fetched from the registry (not what a cache already held)
}

// Pull writes the model version that ref (REGISTRY/NAMESPACE/MODEL:VERSION or
// @DIGEST) names into repoDir as MODEL/VERSION plus the model-level files.
// Every file is written into a temporary folder beside the model's and
// verified against its digest before anything is moved into place; an
// existing version folder is never overwritten.
func (c *Client) Pull(ctx context.Context, ref, repoDir string) (Pulled, error) {
	r, err := registry.ParseReference(ref)
	if err != nil {
		return Pulled{}, err
	}
	if r.Reference == "" {
		return Pulled{}, fmt.Errorf("%s: name the version (:VERSION or @DIGEST)", ref)
	}
	p, err := c.pull(ctx, r.Registry+"/"+r.Repository, r.Reference, repoDir, PullOptions{ModelFiles: true})
	if err != nil {
		return Pulled{}, fmt.Errorf("%s: %w", ref, err)
	}
	return p, nil
}

// PullOptions tune PullVersion.
type PullOptions struct {
	// Cache, if set, keeps every blob once on this node: a blob already
	// there is not fetched again, and the version's files are hard links to it.
	Cache *Cache
	// ModelFiles also writes the model-level files (config.yaml, ...),
	// replacing those there.
	ModelFiles bool
	// Version, if set, is the version the manifest must say it is.
	Version string
	// ReplaceInto, if set, lets the pull replace an existing version
	// folder: the new one takes its place in one step (no moment without
	// it, which a repository scan could take for a removed version) and the
	// previous folder is moved to ReplaceInto, a path that must not exist,
	// on the same file system, for the caller to remove when nothing reads
	// it any more.
	ReplaceInto string
}

// Refused says whether err refuses what the registry served (a digest that
// does not match, a layout that would write outside the model, a missing or
// wrong signature) rather than failing to reach it.
func Refused(err error) bool {
	return errors.Is(err, errLayout) || errors.Is(err, errNotModel) || errors.Is(err, ErrSignature) ||
		errors.Is(err, content.ErrMismatchedDigest) || errors.Is(err, content.ErrTrailingData)
}

// PullVersion writes the model version with manifest digest d of repository
// name (REGISTRY/NAMESPACE/MODEL) into repoDir, as Pull does.
func (c *Client) PullVersion(ctx context.Context, name string, d digest.Digest, repoDir string, opts PullOptions) (Pulled, error) {
	return c.pull(ctx, name, d.String(), repoDir, opts)
}

func (c *Client) pull(ctx context.Context, name, reference, repoDir string, opts PullOptions) (Pulled, error) {
	model := path.Base(name)
	if !plainName.MatchString(model) {
		return Pulled{}, fmt.Errorf("%q is not a model name", model)
	}
	repo, err := c.repository(name)
	if err != nil {
		return Pulled{}, err
	}
	desc, m, err := fetchManifest(ctx, repo, reference)
	if err != nil {
		return Pulled{}, err
	}
	version := m.Annotations[ocispec.AnnotationVersion]
	if err := checkLayers(m, version); err != nil {
		return Pulled{}, err
	}
	if opts.Version != "" && version != opts.Version {
		return Pulled{}, fmt.Errorf("%w: the manifest is version %q, not %s", errLayout, version, opts.Version)
	}

	modelDir := filepath.Join(repoDir, model)
	dest := filepath.Join(modelDir, version)
	_, err = os.Lstat(dest)
	replace := err == nil
	if replace && opts.ReplaceInto == "" {
		return Pulled{}, fmt.Errorf("%s exists already", dest)
	}
	if err := os.MkdirAll(modelDir, 0o755); err != nil {
		return Pulled{}, err
	}
	tmp, err := os.MkdirTemp(modelDir, ".pull-")
	if err != nil {
		return Pulled{}, err
	}
	defer os.RemoveAll(tmp)
	if err := os.Mkdir(filepath.Join(tmp, version), 0o755); err != nil {
		return Pulled{}, err
	}
	var fetched int64
	for _, l := range m.Layers {
		title := l.Annotations[ocispec.AnnotationTitle]
		if !opts.ModelFiles && !strings.Contains(title, "/") {
			continue
		}
		file := filepath.Join(tmp, filepath.FromSlash(title))
		if opts.Cache == nil {
			err = fetchFile(ctx, repo, l, file)
			fetched += l.Size
		} else {
			var n int64
			n, err = opts.Cache.link(ctx, repo, l, file)
			fetched += n
		}
		if err != nil {
			return Pulled{}, fmt.Errorf("%s: %w", title, err)
		}
	}
	if opts.ModelFiles {
		for _, l := range m.Layers {
			if title := l.Annotations[ocispec.AnnotationTitle]; !strings.Contains(title, "/") {
				if err := os.Rename(filepath.Join(tmp, title), filepath.Join(modelDir, title)); err != nil {
					return Pulled{}, err
				}
			}
		}
	}
	if replace {
		err = exchange(filepath.Join(tmp, version), dest, opts.ReplaceInto)
	} else {
		err = os.Rename(filepath.Join(tmp, version), dest)
	}
	if err != nil {
		return Pulled{}, err
	}
	return Pulled{Model: model, Version: version, Dir: dest, Digest: desc.Digest, Files: len(m.Layers), Bytes: fetched}, nil
}

// fetchManifest reads a manifest (at most the repository's metadata limit,
// 4 MiB by default), verifies it against its descriptor and accepts only a
// modelgate model version.
func fetchManifest(ctx context.Context, repo *remote.Repository, reference string) (ocispec.Descriptor, ocispec.Manifest, error) {
	desc, rc, err := repo.FetchReference(ctx, reference)
	if err != nil {
		return ocispec.Descriptor{}, ocispec.Manifest{}, err
	}
	defer rc.Close()
	if desc.MediaType != ocispec.MediaTypeImageManifest {
		return desc, ocispec.Manifest{}, fmt.Errorf("%w: %s is a %s", errNotModel, desc.Digest, desc.MediaType)
	}
	b, err := content.ReadAll(rc, desc)
	if err != nil {
		return desc, ocispec.Manifest{}, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return desc, ocispec.Manifest{}, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	if m.ArtifactType != ArtifactType {
		return desc, m, fmt.Errorf("%w: %s has artifact type %q, want %q", errNotModel, desc.Digest, m.ArtifactType, ArtifactType)
	}
	return desc, m, nil
}

// errNotModel marks an artifact that is no modelgate model version.
var errNotModel = errors.New("not a model version")

// errLayout wraps every way a manifest's files can be unfit to write.
var errLayout = errors.New("not a model version's layout")

// checkLayers accepts the layers only if each is a file the pull may write:
// a model-level file (a plain name) or VERSION/NAME, each once, within
// maxLayers, with a valid digest. Titles come from the registry: they must
// never name a path outside the model folder.
func checkLayers(m ocispec.Manifest, version string) error {
	if !validVersion(version) {
		return fmt.Errorf("%w: version annotation %q", errLayout, version)
	}
	if len(m.Layers) == 0 || len(m.Layers) > maxLayers {
		return fmt.Errorf("%w: %d files", errLayout, len(m.Layers))
	}
	seen := map[string]bool{}
	versionFiles := 0
	for _, l := range m.Layers {
		title := l.Annotations[ocispec.AnnotationTitle]
		name, inVersion := strings.CutPrefix(title, version+"/")
		switch {
		case l.MediaType != FileMediaType:
			return fmt.Errorf("%w: layer media type %q", errLayout, l.MediaType)
		case !plainName.MatchString(name):
			return fmt.Errorf("%w: file %q", errLayout, title)
		case seen[title]:
			return fmt.Errorf("%w: file %q twice", errLayout, title)
		case l.Size < 0 || l.Digest.Validate() != nil:
			return fmt.Errorf("%w: file %q has no valid digest", errLayout, title)
		}
		seen[title] = true
		if inVersion {
			versionFiles++
		}
	}
	if versionFiles == 0 {
		return fmt.Errorf("%w: no files in version %s", errLayout, version)
	}
	return nil
}

// fetchFile streams one blob into file, reading no more than the descriptor's
// size and failing unless the bytes match its digest.
func fetchFile(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor, file string) error {
	rc, err := repo.Fetch(ctx, desc)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	vr := content.NewVerifyReader(rc, desc)
	if _, err := io.Copy(f, vr); err != nil {
		f.Close()
		return err
	}
	if err := vr.Verify(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
