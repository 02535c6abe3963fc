package registry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// Version is one model version a registry holds.
type Version struct {
	Model       string
	Version     string // the tag
	Repository  string // REGISTRY/REPOSITORY
	Digest      digest.Digest
	Annotations map[string]string
}

// List finds the model versions under target, REGISTRY/NAMESPACE (every model
// repository directly under it, from the catalog API) or
// REGISTRY/NAMESPACE/MODEL (one model). Where the registry does not offer the
// catalog, target is taken as one model's repository. Only tags that are
// version numbers and name a modelgate model version are listed.
func (c *Client) List(ctx context.Context, target string) ([]Version, error) {
	r, err := registry.ParseReference(target)
	if err != nil {
		return nil, err
	}
	if r.Reference != "" {
		return nil, fmt.Errorf("%s: list a namespace or a model, without tag or digest", target)
	}
	repos, err := c.modelRepositories(ctx, r.Registry, r.Repository)
	if err != nil {
		return nil, err
	}
	var out []Version
	for _, name := range repos {
		vs, err := c.listRepository(ctx, r.Registry+"/"+name)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	slices.SortFunc(out, func(a, b Version) int {
		if c := cmp.Compare(a.Repository, b.Repository); c != 0 {
			return c
		}
		x, _ := strconv.ParseUint(a.Version, 10, 63)
		y, _ := strconv.ParseUint(b.Version, 10, 63)
		return cmp.Compare(x, y)
	})
	return out, nil
}

// modelRepositories are the repositories named prefix or directly under it.
func (c *Client) modelRepositories(ctx context.Context, host, prefix string) ([]string, error) {
	reg, err := c.registry(host)
	if err != nil {
		return nil, err
	}
	var repos []string
	err = reg.Repositories(ctx, "", func(page []string) error {
		for _, name := range page {
			rest, under := strings.CutPrefix(name, prefix+"/")
			if name == prefix || (under && !strings.Contains(rest, "/")) {
				repos = append(repos, name)
			}
		}
		return nil
	})
	var ec *errcode.ErrorResponse
	if errors.As(err, &ec) && ec.StatusCode/100 == 4 && ec.StatusCode != 401 {
		return []string{prefix}, nil // no catalog for this client
	}
	if err != nil {
		return nil, fmt.Errorf("catalog of %s: %w", host, err)
	}
	return repos, nil
}

func (c *Client) listRepository(ctx context.Context, name string) ([]Version, error) {
	repo, err := c.repository(name)
	if err != nil {
		return nil, err
	}
	var tags []string
	if err := repo.Tags(ctx, "", func(page []string) error {
		for _, t := range page {
			if validVersion(t) {
				tags = append(tags, t)
			}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("tags of %s: %w", name, err)
	}
	var out []Version
	for _, tag := range tags {
		desc, m, err := fetchManifest(ctx, repo, tag)
		if errors.Is(err, errNotModel) {
			continue // another kind of artifact under a number-like tag
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%s: %w", name, tag, err)
		}
		out = append(out, Version{
			Model:       name[strings.LastIndex(name, "/")+1:],
			Version:     tag,
			Repository:  name,
			Digest:      desc.Digest,
			Annotations: m.Annotations,
		})
	}
	return out, nil
}
