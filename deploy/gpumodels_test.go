package deploy

import (
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	batchv1 "k8s.io/api/batch/v1"

	"github.com/modelgate/modelgate/internal/testutil"
)

// gpuModels is the folder of models that only pay on a GPU (sentiment-fp16,
// deploy/train/fp16.py).
const gpuModels = "deploy/models-gpu"

// TestGPUModelsOnlyOnGPUNodes: deploy/models-gpu joins the image's model
// repository in the GPU variant only; deploy/models (make run, the CPU
// image, compose) has none of it; the Kubernetes seed Job copies the
// repository from the GPU sidecar image the DaemonSet runs, and the
// Kubernetes kong.yml lists sentiment-fp16 (unlisted_models: deny).
func TestGPUModelsOnlyOnGPUNodes(t *testing.T) {
	d := parseDockerfile(t)
	for variant, want := range map[string]bool{"cpu": false, "gpu": true} {
		args := maps.Clone(d.metaArgs)
		args["VARIANT"] = variant
		for _, target := range []string{"kong", "sidecar"} {
			copied := false
			for _, s := range d.chain(t, target, args) {
				for _, c := range s.Commands {
					cp, ok := c.(*instructions.CopyCommand)
					if !ok || cp.From != "" || !slices.ContainsFunc(cp.SourcePaths, func(p string) bool { return path.Clean(p) == gpuModels }) {
						continue
					}
					copied = true
					if path.Clean(cp.DestPath) != "/opt/modelgate/deploy/models" {
						t.Errorf("stage %s copies %s to %s, not into the image's model repository", s.Name, gpuModels, cp.DestPath)
					}
				}
			}
			if copied != want {
				t.Errorf("VARIANT=%s, target %s: %s copied = %v, want %v", variant, target, gpuModels, copied, want)
			}
		}
	}

	entries, err := os.ReadDir(filepath.Join(testutil.RepoRoot(), gpuModels))
	if err != nil || len(entries) == 0 {
		t.Fatalf("%s: %v (%d models)", gpuModels, err, len(entries))
	}
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(testutil.RepoRoot(), "deploy", "models", e.Name())); err == nil {
			t.Errorf("deploy/models/%s exists: CPU nodes and `make run` would load a GPU-only model", e.Name())
		}
		for _, f := range []string{"kong.yml", "deploy/docker-compose.yml"} {
			if strings.Contains(string(repoFile(t, f)), e.Name()) {
				t.Errorf("%s names %s, a model only the GPU image carries", f, e.Name())
			}
		}
	}

	objs := k8sObjects(t)
	_, _, sidecar := gatewayPod(t, objs)
	var seed *batchv1.Job
	for _, j := range objectsOf[batchv1.Job](objs) {
		if j.Name == "modelgate-models-seed" {
			seed = j
		}
	}
	if seed == nil || len(seed.Spec.Template.Spec.Containers) != 1 {
		t.Fatal("deploy/k8s: no modelgate-models-seed Job with one container")
	}
	if img := seed.Spec.Template.Spec.Containers[0].Image; img != sidecar.Image || !strings.HasSuffix(img, "-gpu") {
		t.Errorf("the seed Job copies the models of image %q; want the DaemonSet's GPU sidecar image %q", img, sidecar.Image)
	}
	listed := false
	for _, cfg := range modelgatePlugins(t, "deploy/k8s/configmap.yaml", kongYml(t, "deploy/k8s/configmap.yaml#kong.yml")) {
		models, _ := cfg["models"].([]any)
		for _, m := range models {
			if dig(m, "name") == "sentiment-fp16" {
				listed = true
			}
		}
	}
	if !listed {
		t.Error("the Kubernetes kong.yml does not list sentiment-fp16: with unlisted_models: deny it would answer 403")
	}
}
