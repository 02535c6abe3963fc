// Package registry keeps model versions in an OCI registry (the model registry
// center): one OCI artifact per model version, one layer per file, pushed,
// listed and pulled with oras-go. The CLI (modelgate model) and the sidecar
// both use it.
package registry

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"

	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/retry"
)

// ArtifactType marks a manifest as one modelgate model version.
const ArtifactType = "application/vnd.modelgate.model.v1"

// FileMediaType is the media type of every layer: one file, as it is on disk.
const FileMediaType = "application/vnd.modelgate.model.file.v1"

// The manifest annotations that carry the model card's facts, besides the
// OCI ones (org.opencontainers.image.created and .version).
const (
	AnnotationModel    = "dev.modelgate.model.name"
	AnnotationSHA256   = "dev.modelgate.model.sha256"
	AnnotationAccuracy = "dev.modelgate.model.accuracy"
	AnnotationDataset  = "dev.modelgate.model.dataset"
)

// maxLayers bounds the files one version may have: a manifest is registry
// input, and a version is a handful of files.
const maxLayers = 64

// Client reaches registries with the credentials of a docker config.json.
type Client struct {
	// PlainHTTP talks HTTP instead of HTTPS, for registries without TLS.
	PlainHTTP bool
	http      *auth.Client
}

// NewClient reads credentials as every registry client does: from
// $DOCKER_CONFIG/config.json, else ~/.docker/config.json (a missing file
// means anonymous access).
func NewClient(plainHTTP bool) (*Client, error) {
	store, err := credentials.NewStoreFromDocker(credentials.StoreOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker credentials: %w", err)
	}
	return &Client{
		PlainHTTP: plainHTTP,
		http: &auth.Client{
			Client:     retry.DefaultClient,
			Cache:      auth.NewCache(),
			Credential: credentials.Credential(store),
			Header:     http.Header{"User-Agent": {"modelgate"}},
		},
	}, nil
}

func (c *Client) repository(name string) (*remote.Repository, error) {
	repo, err := remote.NewRepository(name)
	if err != nil {
		return nil, err
	}
	repo.PlainHTTP = c.PlainHTTP
	repo.Client = c.http
	return repo, nil
}

func (c *Client) registry(host string) (*remote.Registry, error) {
	reg, err := remote.NewRegistry(host)
	if err != nil {
		return nil, err
	}
	reg.PlainHTTP = c.PlainHTTP
	reg.Client = c.http
	return reg, nil
}

// plainName accepts a file or model name that is one path element of ordinary
// characters: names from a registry become paths on disk.
var plainName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)

// validVersion accepts Triton's version folder names: a positive decimal number.
func validVersion(v string) bool {
	n, err := strconv.ParseUint(v, 10, 63)
	return err == nil && n > 0 && strconv.FormatUint(n, 10) == v
}
