package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"gopkg.in/yaml.v3"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/registry"
)

// modelFiles are the files of a model folder that every version needs, pushed
// with each version where they exist (config.yaml must). The vocabulary that
// config.yaml names goes too. A key_file never does: it is a secret.
var modelFiles = []string{"config.yaml", "vocab.txt", "labels.txt", "MODEL_CARD.md"}

// Pushed is what Push stored.
type Pushed struct {
	Reference string // REGISTRY/REPOSITORY:VERSION
	Digest    digest.Digest
	Files     int
}

// Push stores the model version in versionDir (MODEL/VERSION of a model
// repository) and the model-level files it needs as one artifact under ref,
// REGISTRY/NAMESPACE/MODEL[:VERSION]; the tag is the version number.
func (c *Client) Push(ctx context.Context, versionDir, ref string) (Pushed, error) {
	versionDir = filepath.Clean(versionDir)
	version := filepath.Base(versionDir)
	modelDir := filepath.Dir(versionDir)
	model := filepath.Base(modelDir)
	if !validVersion(version) {
		return Pushed{}, fmt.Errorf("%s: a version folder is named by a positive number", versionDir)
	}
	r, err := registry.ParseReference(ref)
	if err != nil {
		return Pushed{}, err
	}
	if path.Base(r.Repository) != model {
		return Pushed{}, fmt.Errorf("%s: the repository's last element must be the model's name %q", ref, model)
	}
	switch {
	case r.Reference == "":
		r.Reference = version
	case r.Reference != version:
		return Pushed{}, fmt.Errorf("%s: the tag must be the version, %s", ref, version)
	}

	files, err := versionFiles(modelDir, version)
	if err != nil {
		return Pushed{}, err
	}
	repo, err := c.repository(r.Registry + "/" + r.Repository)
	if err != nil {
		return Pushed{}, err
	}
	var layers []ocispec.Descriptor
	for _, f := range files {
		desc, err := pushFile(ctx, repo, filepath.Join(modelDir, filepath.FromSlash(f)), f)
		if err != nil {
			return Pushed{}, err
		}
		layers = append(layers, desc)
	}
	annotations, err := versionAnnotations(modelDir, model, version)
	if err != nil {
		return Pushed{}, err
	}
	manifest, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, ArtifactType, oras.PackManifestOptions{
		Layers:              layers,
		ManifestAnnotations: annotations,
	})
	if err != nil {
		return Pushed{}, fmt.Errorf("push manifest: %w", err)
	}
	if err := repo.Tag(ctx, manifest, r.Reference); err != nil {
		return Pushed{}, fmt.Errorf("tag %s: %w", r.Reference, err)
	}
	return Pushed{Reference: r.String(), Digest: manifest.Digest, Files: len(layers)}, nil
}

// versionFiles names the files to push, relative to the model folder with
// slashes (the layer titles): the model-level files, then VERSION/FILE.
func versionFiles(modelDir, version string) ([]string, error) {
	cfg, err := os.ReadFile(filepath.Join(modelDir, "config.yaml"))
	if err != nil {
		return nil, fmt.Errorf("model config: %w", err)
	}
	var parsed struct {
		Preprocess struct {
			Text struct {
				Vocabulary string `yaml:"vocabulary"`
			} `yaml:"text"`
		} `yaml:"preprocess"`
	}
	if err := yaml.Unmarshal(cfg, &parsed); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(modelDir, "config.yaml"), err)
	}
	wanted := slices.Clone(modelFiles)
	if v := parsed.Preprocess.Text.Vocabulary; v != "" && !slices.Contains(wanted, v) {
		if !plainName.MatchString(v) {
			return nil, fmt.Errorf("config.yaml: vocabulary %q is not a file of the model folder", v)
		}
		wanted = append(wanted, v)
	}
	var files []string
	for _, name := range wanted {
		switch st, err := os.Stat(filepath.Join(modelDir, name)); {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, err
		case st.Mode().IsRegular():
			files = append(files, name)
		}
	}
	entries, err := os.ReadDir(filepath.Join(modelDir, version))
	if err != nil {
		return nil, err
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() {
			return nil, fmt.Errorf("%s: version folders hold files only", filepath.Join(modelDir, version, e.Name()))
		}
		if !plainName.MatchString(e.Name()) {
			return nil, fmt.Errorf("%s: not a name a registry artifact can carry", filepath.Join(modelDir, version, e.Name()))
		}
		files = append(files, version+"/"+e.Name())
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no files", filepath.Join(modelDir, version))
	}
	if len(files) > maxLayers {
		return nil, fmt.Errorf("%s: %d files, more than %d", filepath.Join(modelDir, version), len(files), maxLayers)
	}
	return files, nil
}

// pushFile uploads one file as a layer titled with its path in the model
// folder, unless the registry has the blob already.
func pushFile(ctx context.Context, repo interface {
	Exists(context.Context, ocispec.Descriptor) (bool, error)
	Push(context.Context, ocispec.Descriptor, io.Reader) error
}, file, title string) (ocispec.Descriptor, error) {
	f, err := os.Open(file)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer f.Close()
	digester := digest.Canonical.Digester()
	size, err := io.Copy(digester.Hash(), f)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{
		MediaType:   FileMediaType,
		Digest:      digester.Digest(),
		Size:        size,
		Annotations: map[string]string{ocispec.AnnotationTitle: title},
	}
	if ok, err := repo.Exists(ctx, desc); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("%s: %w", title, err)
	} else if ok {
		return desc, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return ocispec.Descriptor{}, err
	}
	if err := repo.Push(ctx, desc, io.LimitReader(f, size)); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("push %s: %w", title, err)
	}
	return desc, nil
}

// versionAnnotations are the card's facts for the manifest.
func versionAnnotations(modelDir, model, version string) (map[string]string, error) {
	a := map[string]string{
		ocispec.AnnotationVersion: version,
		AnnotationModel:           model,
	}
	sum, err := modelSHA256(filepath.Join(modelDir, version))
	if err != nil {
		return nil, err
	}
	if sum != "" {
		a[AnnotationSHA256] = sum
	}
	if card, err := os.ReadFile(filepath.Join(modelDir, "MODEL_CARD.md")); err == nil {
		accuracy, dataset := cardFacts(card, version)
		if accuracy != "" {
			a[AnnotationAccuracy] = accuracy
		}
		if dataset != "" {
			a[AnnotationDataset] = dataset
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return a, nil
}

// modelSHA256 is the model file's checksum as its .sha256 file states it
// (sha256sum's format), else computed from model.onnx; "" when there is
// neither (an encrypted model's checksum file is the one that counts).
func modelSHA256(dir string) (string, error) {
	for _, name := range []string{"model.onnx.sha256", "model.onnx.enc.sha256"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			return f[0], nil
		}
	}
	f, err := os.Open(filepath.Join(dir, "model.onnx"))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
