package deploy

import (
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/modelgate/modelgate/internal/testutil"
)

// checkGeneratedNotCommitted fails unless every file (relative to the
// repository root) lies in a folder .gitignore lists: the registry
// credentials and key are the operator's, written at deploy time, never
// committed.
func checkGeneratedNotCommitted(t *testing.T, files ...string) {
	t.Helper()
	ignored := strings.Split(string(repoFile(t, ".gitignore")), "\n")
	for _, f := range files {
		if !slices.ContainsFunc(ignored, func(dir string) bool {
			return strings.HasPrefix(dir, "/") && strings.HasSuffix(dir, "/") && strings.HasPrefix("/"+filepath.ToSlash(f), dir)
		}) {
			t.Errorf("%s is not in a folder .gitignore lists: a credential written there could be committed", f)
		}
	}
}

// checkRegistrySidecar checks a sidecar that pulls from a registry: its
// command line serves and names the registry, the key and the models
// folder it writes; mounted(path) says what is mounted at path (a secret's
// key, or "" for a writable folder of its own; ok false when nothing is).
func checkRegistrySidecar(t *testing.T, where string, args []string, dockerConfig string, mounted func(path string) (string, bool)) {
	t.Helper()
	checkSidecarServe(t, where, args, 16777216)
	flags := parseSidecarArgs(t, where, args).flags
	if flags["registry"] == "" || flags["registry-models"] == "" {
		t.Errorf("%s: --registry %q, --registry-models %q: want both", where, flags["registry"], flags["registry-models"])
	}
	if _, plain := flags["registry-plain-http"]; plain {
		t.Errorf("%s: --registry-plain-http: a production registry talks TLS", where)
	}
	if d, err := strconv.ParseFloat(strings.TrimSuffix(flags["registry-interval"], "s"), 64); err != nil || d <= 0 {
		t.Errorf("%s: --registry-interval %q", where, flags["registry-interval"])
	}
	if key, ok := mounted(flags["registry-key"]); !ok || key != "registry.pub" {
		t.Errorf("%s: --registry-key %q is not the mounted public key (%q)", where, flags["registry-key"], key)
	}
	if key, ok := mounted(path.Join(dockerConfig, "config.json")); !ok || key != "config.json" {
		t.Errorf("%s: DOCKER_CONFIG %q holds no mounted config.json (%q)", where, dockerConfig, key)
	}
	if key, ok := mounted(flags["models"]); !ok || key != "" {
		t.Errorf("%s: --models %q is not a writable folder of the sidecar's own", where, flags["models"])
	}
}

// TestComposeRegistryOverride: docker-compose.registry.yml turns the
// sidecar into one that pulls signed versions from a registry into a volume
// of its own, with the pull credentials and the public key as secrets.
func TestComposeRegistryOverride(t *testing.T) {
	files := []string{"deploy/docker-compose.yml", "deploy/docker-compose.registry.yml"}
	if _, err := loadComposeEnv(types.Mapping{}, files...); err == nil || !strings.Contains(err.Error(), "MODELGATE_REGISTRY") {
		t.Errorf("without MODELGATE_REGISTRY: %v, want it required", err)
	}
	p, err := loadComposeEnv(types.Mapping{"MODELGATE_REGISTRY": "registry.example/models"}, files...)
	if err != nil {
		t.Fatal(err)
	}
	sidecar := service(t, p, "sidecar")
	if slices.ContainsFunc(sidecar.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Type == types.VolumeTypeBind }) {
		t.Errorf("the registry sidecar still bind-mounts %v", sidecar.Volumes)
	}
	if v := volumeAt(sidecar, socketDir); v == nil || v.Source != socketVolume {
		t.Errorf("the registry sidecar lost the socket volume")
	}
	dockerConfig := sidecar.Environment["DOCKER_CONFIG"]
	if dockerConfig == nil {
		t.Fatal("the registry sidecar has no DOCKER_CONFIG")
	}
	var secretFiles []string
	mounted := func(target string) (string, bool) {
		for _, s := range sidecar.Secrets {
			if s.Target == target {
				return path.Base(p.Secrets[s.Source].File), true
			}
		}
		if v := volumeAt(sidecar, target); v != nil && v.Type == types.VolumeTypeVolume && !v.ReadOnly {
			return "", true
		}
		return "", false
	}
	for _, s := range sidecar.Secrets {
		rel, err := filepath.Rel(testutil.RepoRoot(), p.Secrets[s.Source].File)
		if err != nil {
			t.Fatal(err)
		}
		secretFiles = append(secretFiles, rel)
	}
	checkRegistrySidecar(t, "compose registry sidecar", sidecar.Command, *dockerConfig, mounted)
	if flags := parseSidecarArgs(t, "compose", sidecar.Command).flags; flags["registry"] != "registry.example/models" {
		t.Errorf("--registry %q, want $MODELGATE_REGISTRY", flags["registry"])
	}
	checkGeneratedNotCommitted(t, secretFiles...)
	if kong := service(t, p, "kong"); len(kong.Secrets) != 3 {
		t.Errorf("kong gets %d secrets; the registry's are the sidecar's alone", len(kong.Secrets))
	}
}

// registryOverlay is the part of deploy/k8s-registry/kustomization.yaml
// these checks read, decoded strictly.
type registryOverlay struct {
	kustomization `json:",inline"`
	Patches       []struct {
		Path  string `json:"path,omitempty"`
		Patch string `json:"patch,omitempty"`
	} `json:"patches"`
}

// deletedBy returns the list items a strategic merge patch list deletes
// (their key field's values) and the items it adds or changes.
func deletedBy(list []any, key string) (deleted []string, kept []any) {
	for _, item := range list {
		m, _ := item.(map[string]any)
		if m["$patch"] == "delete" {
			deleted = append(deleted, m[key].(string))
			continue
		}
		kept = append(kept, item)
	}
	return deleted, kept
}

// TestK8sRegistryOverlay: deploy/k8s-registry patches deploy/k8s so that
// each sidecar pulls from a registry: no shared model volume (its claim and
// seed Job deleted), the pull credentials and public key from a generated
// Secret. The patch is merged here the way kustomize's strategic merge does
// for these lists (args replaced; env, mounts and volumes merged by name or
// mount path, `$patch: delete` removing one); `kubectl kustomize
// deploy/k8s-registry` builds it.
func TestK8sRegistryOverlay(t *testing.T) {
	var k registryOverlay
	if err := yaml.UnmarshalStrict(repoFile(t, "deploy/k8s-registry/kustomization.yaml"), &k); err != nil {
		t.Fatalf("deploy/k8s-registry/kustomization.yaml: %v", err)
	}
	if !slices.Equal(k.Resources, []string{"../k8s"}) || k.Namespace != "modelgate" {
		t.Errorf("resources %v, namespace %q: want the deploy/k8s base in namespace modelgate", k.Resources, k.Namespace)
	}
	base := k8sObjects(t)
	var patchFile string
	deletes := map[string]bool{}
	for _, p := range k.Patches {
		if p.Path != "" {
			patchFile = p.Path
			continue
		}
		var obj struct {
			Patch      string `json:"$patch"`
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.UnmarshalStrict([]byte(p.Patch), &obj); err != nil || obj.Patch != "delete" {
			t.Fatalf("patch %q: %v, want a $patch: delete", p.Patch, err)
		}
		deletes[obj.Kind+"/"+obj.Metadata.Name] = true
	}
	for _, want := range []string{"PersistentVolumeClaim/modelgate-models", "Job/modelgate-models-seed"} {
		if !deletes[want] {
			t.Errorf("the overlay does not delete %s", want)
		}
	}
	if len(objectsOf[corev1.PersistentVolumeClaim](base)) != 1 {
		t.Error("the base's model claim moved: update the overlay's delete patch")
	}

	// The DaemonSet patch: strictly a DaemonSet once its deletions are taken out.
	var patch map[string]any
	if err := yaml.Unmarshal(repoFile(t, "deploy/k8s-registry/"+patchFile), &patch); err != nil {
		t.Fatal(err)
	}
	spec := dig(patch, "spec", "template", "spec").(map[string]any)
	sidecarPatch := spec["initContainers"].([]any)[0].(map[string]any)
	deletedMounts, mounts := deletedBy(sidecarPatch["volumeMounts"].([]any), "mountPath")
	sidecarPatch["volumeMounts"] = mounts
	deletedVolumes, volumes := deletedBy(spec["volumes"].([]any), "name")
	spec["volumes"] = volumes
	clean, err := yaml.Marshal(patch)
	if err != nil {
		t.Fatal(err)
	}
	var ds appsv1.DaemonSet
	if err := yaml.UnmarshalStrict(clean, &ds); err != nil {
		t.Fatalf("deploy/k8s-registry/%s: %v", patchFile, err)
	}

	// The merged sidecar and pod volumes.
	baseDS, _, baseSidecar := gatewayPod(t, base)
	patched := ds.Spec.Template.Spec.InitContainers[0]
	if patched.Name != baseSidecar.Name || ds.Name != baseDS.Name {
		t.Fatalf("the patch names %s/%s, the base %s/%s", ds.Name, patched.Name, baseDS.Name, baseSidecar.Name)
	}
	sidecar := baseSidecar.DeepCopy()
	sidecar.Args = patched.Args
	sidecar.Env = append(slices.Clone(patched.Env), sidecar.Env...)
	sidecar.VolumeMounts = slices.DeleteFunc(sidecar.VolumeMounts, func(m corev1.VolumeMount) bool { return slices.Contains(deletedMounts, m.MountPath) })
	sidecar.VolumeMounts = append(sidecar.VolumeMounts, patched.VolumeMounts...)
	podVolumes := slices.DeleteFunc(slices.Clone(baseDS.Spec.Template.Spec.Volumes), func(v corev1.Volume) bool { return slices.Contains(deletedVolumes, v.Name) })
	podVolumes = append(podVolumes, ds.Spec.Template.Spec.Volumes...)
	for _, m := range sidecar.VolumeMounts {
		if !slices.ContainsFunc(podVolumes, func(v corev1.Volume) bool { return v.Name == m.Name }) {
			t.Errorf("the sidecar mounts %s from volume %q, which the pod does not have", m.MountPath, m.Name)
		}
	}
	for _, v := range podVolumes {
		if v.PersistentVolumeClaim != nil {
			t.Errorf("volume %s still claims %s", v.Name, v.PersistentVolumeClaim.ClaimName)
		}
	}

	generated := map[string]bool{}
	var secretName string
	for _, g := range k.SecretGenerator {
		secretName = g.Name
		var files []string
		for _, f := range g.Files {
			generated[path.Base(f)] = true
			files = append(files, path.Join("deploy/k8s-registry", f))
		}
		checkGeneratedNotCommitted(t, files...)
	}
	mounted := func(target string) (string, bool) {
		for _, m := range sidecar.VolumeMounts {
			if target != m.MountPath && path.Dir(target) != m.MountPath {
				continue
			}
			i := slices.IndexFunc(podVolumes, func(v corev1.Volume) bool { return v.Name == m.Name })
			switch v := podVolumes[i]; {
			case v.Secret != nil && v.Secret.SecretName == secretName && path.Dir(target) == m.MountPath && generated[path.Base(target)]:
				return path.Base(target), true
			case v.EmptyDir != nil && target == m.MountPath && !m.ReadOnly:
				return "", true
			}
		}
		return "", false
	}
	checkRegistrySidecar(t, "k8s registry sidecar", sidecar.Args, envOf(sidecar, "DOCKER_CONFIG"), mounted)
}
