package registry

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxConfigBytes bounds a model's config.yaml read from a registry.
const maxConfigBytes = 1 << 20

// VersionTags lists the tags of repository name (REGISTRY/NAMESPACE/MODEL)
// that are version numbers, as numbers.
func (c *Client) VersionTags(ctx context.Context, name string) ([]int64, error) {
	repo, err := c.repository(name)
	if err != nil {
		return nil, err
	}
	var versions []int64
	err = repo.Tags(ctx, "", func(page []string) error {
		for _, t := range page {
			if validVersion(t) {
				n, _ := strconv.ParseInt(t, 10, 64)
				versions = append(versions, n)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tags of %s: %w", name, err)
	}
	return versions, nil
}

// ModelConfig reads the config.yaml that version tag of repository name
// carries, through the cache, and returns it with the version's manifest
// digest (what a pull of this version by digest then gets: the tag may move
// in between).
func (c *Client) ModelConfig(ctx context.Context, name, tag string, cache *Cache) ([]byte, digest.Digest, error) {
	repo, err := c.repository(name)
	if err != nil {
		return nil, "", err
	}
	desc, m, err := fetchManifest(ctx, repo, tag)
	if err != nil {
		return nil, "", err
	}
	if err := checkLayers(m, m.Annotations[ocispec.AnnotationVersion]); err != nil {
		return nil, desc.Digest, err
	}
	for _, l := range m.Layers {
		if l.Annotations[ocispec.AnnotationTitle] != "config.yaml" {
			continue
		}
		if l.Size > maxConfigBytes {
			return nil, desc.Digest, fmt.Errorf("%s:%s: config.yaml of %d bytes", name, tag, l.Size)
		}
		if _, err := cache.ensure(ctx, repo, l); err != nil {
			return nil, desc.Digest, err
		}
		b, err := os.ReadFile(cache.path(l.Digest))
		return b, desc.Digest, err
	}
	return nil, desc.Digest, fmt.Errorf("%s:%s carries no config.yaml", name, tag)
}
