package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/modelgate/modelgate/internal/testutil"
)

// sentiment is the example model, pushed as it is committed.
func sentiment() string {
	return filepath.Join(testutil.RepoRoot(), "deploy", "models", "sentiment")
}

// dockerConfig points $DOCKER_CONFIG at a config.json holding auths (host ->
// "user:password"), as `docker login` writes it.
func dockerConfig(t *testing.T, auths map[string]string) {
	t.Helper()
	cfg := map[string]map[string]map[string]string{"auths": {}}
	for host, userPass := range auths {
		cfg["auths"][host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(userPass))}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
}

func newClient(t *testing.T) *Client {
	t.Helper()
	c, err := NewClient(true)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPushListPull pushes versions 1 and 2 of the example model, lists them
// by namespace and by model, pulls version 2 by tag and version 1 by digest,
// and finds every file byte-identical, against a registry without and one
// with basic auth.
func TestPushListPull(t *testing.T) {
	for _, tc := range []struct {
		name  string
		users map[string]string
	}{
		{"anonymous", nil},
		{"basic auth", map[string]string{"pusher": "s3cret-Pass"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := testutil.StartRegistry(t, tc.users)
			auths := map[string]string{}
			for user, pass := range tc.users {
				auths[reg.Host] = user + ":" + pass
			}
			dockerConfig(t, auths)
			ctx := context.Background()
			c := newClient(t)

			var pushed []Pushed
			for _, v := range []string{"1", "2"} {
				p, err := c.Push(ctx, filepath.Join(sentiment(), v), reg.Host+"/models/sentiment")
				if err != nil {
					t.Fatalf("push %s: %v", v, err)
				}
				if want := reg.Host + "/models/sentiment:" + v; p.Reference != want {
					t.Errorf("pushed %s, want %s", p.Reference, want)
				}
				// config.yaml, vocab.txt, labels.txt, MODEL_CARD.md, model.onnx, model.onnx.sha256
				if p.Files != 6 {
					t.Errorf("version %s: %d files, want 6", v, p.Files)
				}
				pushed = append(pushed, p)
			}

			for _, target := range []string{reg.Host + "/models", reg.Host + "/models/sentiment"} {
				versions, err := c.List(ctx, target)
				if err != nil {
					t.Fatalf("list %s: %v", target, err)
				}
				if len(versions) != 2 {
					t.Fatalf("list %s: %+v, want versions 1 and 2", target, versions)
				}
				for i, v := range versions {
					if v.Model != "sentiment" || v.Version != []string{"1", "2"}[i] || v.Digest != pushed[i].Digest {
						t.Errorf("list %s: %+v, want sentiment %d at %s", target, v, i+1, pushed[i].Digest)
					}
				}
				v2 := versions[1].Annotations
				for key, want := range map[string]string{
					ocispec.AnnotationVersion: "2",
					AnnotationModel:           "sentiment",
					AnnotationSHA256:          "4af7c901a7746297954517884b5583c61e07001dd2ce10fa4dea7f4a25c73359",
					AnnotationAccuracy:        "0.8067",
				} {
					if v2[key] != want {
						t.Errorf("version 2's %s = %q, want %q", key, v2[key], want)
					}
				}
				if !strings.Contains(v2[AnnotationDataset], "AFINN") || v2[ocispec.AnnotationCreated] == "" {
					t.Errorf("version 2's annotations lack the data set or the creation time: %v", v2)
				}
			}

			repoDir := t.TempDir()
			got, err := c.Pull(ctx, reg.Host+"/models/sentiment:2", repoDir)
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != pushed[1].Digest || got.Dir != filepath.Join(repoDir, "sentiment", "2") {
				t.Errorf("pulled %+v, want %s into %s", got, pushed[1].Digest, filepath.Join(repoDir, "sentiment", "2"))
			}
			if _, err := c.Pull(ctx, reg.Host+"/models/sentiment@"+pushed[0].Digest.String(), repoDir); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"config.yaml", "vocab.txt", "labels.txt", "MODEL_CARD.md",
				"1/model.onnx", "1/model.onnx.sha256", "2/model.onnx", "2/model.onnx.sha256"} {
				sameFile(t, filepath.Join(sentiment(), f), filepath.Join(repoDir, "sentiment", f))
			}
			entries, err := os.ReadDir(filepath.Join(repoDir, "sentiment"))
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 6 {
				t.Errorf("pulled model folder holds %d entries, want 6 (4 files, 2 versions; no temporary folder left)", len(entries))
			}

			if _, err := c.Pull(ctx, reg.Host+"/models/sentiment:2", repoDir); err == nil || !strings.Contains(err.Error(), "exists already") {
				t.Errorf("pull over an existing version: %v, want a refusal", err)
			}
		})
	}
}

func sameFile(t *testing.T, want, got string) {
	t.Helper()
	a, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s differs from %s (%d and %d bytes)", got, want, len(b), len(a))
	}
}

// TestAuthRequired: without credentials a registry with basic auth refuses
// the push and the listing.
func TestAuthRequired(t *testing.T) {
	reg := testutil.StartRegistry(t, map[string]string{"pusher": "s3cret-Pass"})
	for _, tc := range []struct {
		name  string
		auths map[string]string
		want  string
	}{
		{"no credentials", map[string]string{}, "basic credential not found"},
		{"wrong credentials", map[string]string{reg.Host: "pusher:wrong"}, "401"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dockerConfig(t, tc.auths)
			_, err := newClient(t).Push(context.Background(), filepath.Join(sentiment(), "2"), reg.Host+"/models/sentiment")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("push: %v, want %q", err, tc.want)
			}
		})
	}
	dockerConfig(t, nil)
	if vs, err := newClient(t).List(context.Background(), reg.Host+"/models/sentiment"); err == nil {
		t.Errorf("list without credentials: %v, want a refusal", vs)
	}
}

// TestPullRefusesTamperedBlob: a blob whose bytes the registry changed (same
// size, other content) fails its digest, and no version folder appears.
func TestPullRefusesTamperedBlob(t *testing.T) {
	reg := testutil.StartRegistry(t, nil)
	dockerConfig(t, nil)
	ctx := context.Background()
	c := newClient(t)
	p, err := c.Push(ctx, filepath.Join(sentiment(), "2"), reg.Host+"/models/sentiment")
	if err != nil {
		t.Fatal(err)
	}
	repo, err := c.repository(reg.Host + "/models/sentiment")
	if err != nil {
		t.Fatal(err)
	}
	_, m, err := fetchManifest(ctx, repo, p.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	var model ocispec.Descriptor
	for _, l := range m.Layers {
		if l.Annotations[ocispec.AnnotationTitle] == "2/model.onnx" {
			model = l
		}
	}
	blob := reg.BlobFile(model.Digest.String())
	b, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(blob, b, 0o644); err != nil {
		t.Fatal(err)
	}
	repoDir := t.TempDir()
	_, err = c.Pull(ctx, reg.Host+"/models/sentiment:2", repoDir)
	if err == nil || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("pull of a tampered blob: %v, want a digest mismatch", err)
	}
	entries, _ := os.ReadDir(filepath.Join(repoDir, "sentiment"))
	if len(entries) != 0 {
		t.Errorf("a refused pull left %v behind", entries)
	}
}

// TestPullRefusesHostileLayout: a manifest (pushed by whoever may push) whose
// file names climb out of the model folder, repeat, or miss the version is
// refused before anything is written.
func TestPullRefusesHostileLayout(t *testing.T) {
	reg := testutil.StartRegistry(t, nil)
	dockerConfig(t, nil)
	ctx := context.Background()
	c := newClient(t)
	repo, err := c.repository(reg.Host + "/models/evil")
	if err != nil {
		t.Fatal(err)
	}
	blob := []byte("not a model")
	file := func(title string) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: FileMediaType, Digest: digestOf(blob), Size: int64(len(blob)),
			Annotations: map[string]string{ocispec.AnnotationTitle: title}}
		return d
	}
	if err := repo.Push(ctx, file("x"), bytes.NewReader(blob)); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		version string
		layers  []ocispec.Descriptor
	}{
		"parent folder":    {"1", []ocispec.Descriptor{file("1/model.onnx"), file("../escape")}},
		"absolute path":    {"1", []ocispec.Descriptor{file("1/model.onnx"), file("/tmp/escape")}},
		"deeper path":      {"1", []ocispec.Descriptor{file("1/a/b")}},
		"other version":    {"1", []ocispec.Descriptor{file("2/model.onnx")}},
		"twice":            {"1", []ocispec.Descriptor{file("1/model.onnx"), file("1/model.onnx")}},
		"version path":     {"../1", []ocispec.Descriptor{file("../1/model.onnx")}},
		"no version files": {"1", []ocispec.Descriptor{file("config.yaml")}},
	} {
		t.Run(name, func(t *testing.T) {
			desc, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, ArtifactType, oras.PackManifestOptions{
				Layers:              tc.layers,
				ManifestAnnotations: map[string]string{ocispec.AnnotationVersion: tc.version},
			})
			if err != nil {
				t.Fatal(err)
			}
			repoDir := filepath.Join(t.TempDir(), "models")
			_, err = c.Pull(ctx, reg.Host+"/models/evil@"+desc.Digest.String(), repoDir)
			if err == nil || !strings.Contains(err.Error(), errLayout.Error()) {
				t.Errorf("pull: %v, want %q", err, errLayout)
			}
			if _, err := os.Stat(filepath.Dir(repoDir)); err != nil {
				t.Fatal(err)
			}
			if entries, _ := os.ReadDir(filepath.Dir(repoDir)); len(entries) != 0 {
				t.Errorf("a refused pull wrote %v", entries)
			}
		})
	}
}

func TestCardFacts(t *testing.T) {
	card, err := os.ReadFile(filepath.Join(sentiment(), "MODEL_CARD.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ version, accuracy, dataset string }{
		{"1", "0.7600", "real sentences only, 3 epochs"},
		{"3", "0.8067", "version 2 dynamically quantized to int8 (`deploy/train/quantize.py`)"},
		{"9", "", ""},
	} {
		accuracy, dataset := cardFacts(card, tc.version)
		if accuracy != tc.accuracy || dataset != tc.dataset {
			t.Errorf("version %s: %q, %q; want %q, %q", tc.version, accuracy, dataset, tc.accuracy, tc.dataset)
		}
	}
}

func digestOf(b []byte) digest.Digest { return digest.FromBytes(b) }
