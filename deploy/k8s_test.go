package deploy

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/modelgate/modelgate/internal/testutil"
)

type configMap = corev1.ConfigMap

// manifestKinds maps each apiVersion/kind the manifests may hold to its
// k8s.io/api type.
var manifestKinds = map[string]func() any{
	"v1/Namespace":                  func() any { return &corev1.Namespace{} },
	"v1/ConfigMap":                  func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                     func() any { return &corev1.Secret{} },
	"v1/Service":                    func() any { return &corev1.Service{} },
	"v1/PersistentVolumeClaim":      func() any { return &corev1.PersistentVolumeClaim{} },
	"apps/v1/DaemonSet":             func() any { return &appsv1.DaemonSet{} },
	"apps/v1/Deployment":            func() any { return &appsv1.Deployment{} },
	"batch/v1/Job":                  func() any { return &batchv1.Job{} },
	"policy/v1/PodDisruptionBudget": func() any { return &policyv1.PodDisruptionBudget{} },
}

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// decodeManifests decodes every document of a manifest file strictly into its
// k8s.io/api type: an unknown or duplicated field fails, as `kubectl apply
// --validate=strict` would.
func decodeManifests(t *testing.T, rel string) []any {
	t.Helper()
	var out []any
	for i, doc := range docSeparator.Split(string(repoFile(t, rel)), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("%s document %d: %v", rel, i, err)
		}
		newObj, ok := manifestKinds[head.APIVersion+"/"+head.Kind]
		if !ok {
			t.Fatalf("%s document %d: %s %s is not a kind these checks know", rel, i, head.APIVersion, head.Kind)
		}
		obj := newObj()
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s document %d (%s): %v", rel, i, head.Kind, err)
		}
		out = append(out, obj)
	}
	return out
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// kustomization is the part of kustomization.yaml these checks read; decoded
// strictly, so a misspelt key fails here rather than in kubectl.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images"`
	SecretGenerator []struct {
		Name    string   `json:"name"`
		Files   []string `json:"files"`
		Options struct {
			DisableNameSuffixHash bool              `json:"disableNameSuffixHash"`
			Labels                map[string]string `json:"labels"`
		} `json:"options"`
	} `json:"secretGenerator"`
}

// generatedSecrets maps each Secret kustomization.yaml's secretGenerator
// makes to its keys and their files (relative to deploy/k8s), which
// deploy/secrets.sh writes and the repository never holds.
func generatedSecrets(t *testing.T) map[string]map[string]string {
	t.Helper()
	var k kustomization
	if err := yaml.UnmarshalStrict(repoFile(t, "deploy/k8s/kustomization.yaml"), &k); err != nil {
		t.Fatalf("deploy/k8s/kustomization.yaml: %v", err)
	}
	out := map[string]map[string]string{}
	for _, g := range k.SecretGenerator {
		out[g.Name] = map[string]string{}
		for _, f := range g.Files {
			key, file, ok := strings.Cut(f, "=")
			if !ok {
				key, file = path.Base(f), f
			}
			out[g.Name][key] = file
		}
	}
	return out
}

// k8sObjects decodes every manifest kustomization.yaml lists, and checks
// that the list holds every manifest in deploy/k8s.
func k8sObjects(t *testing.T) []any {
	t.Helper()
	var k kustomization
	if err := yaml.UnmarshalStrict(repoFile(t, "deploy/k8s/kustomization.yaml"), &k); err != nil {
		t.Fatalf("deploy/k8s/kustomization.yaml: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(testutil.RepoRoot(), "deploy/k8s/*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" && !slices.Contains(k.Resources, base) {
			t.Errorf("deploy/k8s/%s is not in kustomization.yaml's resources", base)
		}
	}
	var objs []any
	for _, r := range k.Resources {
		objs = append(objs, decodeManifests(t, "deploy/k8s/"+r)...)
	}
	// The generated Secrets, with their keys and no values (they exist
	// only where deploy/secrets.sh ran).
	for name, keys := range generatedSecrets(t) {
		sec := &corev1.Secret{StringData: map[string]string{}}
		sec.Name = name
		for key := range keys {
			sec.StringData[key] = ""
		}
		objs = append(objs, sec)
	}
	return objs
}

func objectsOf[T any](objs []any) []*T {
	var out []*T
	for _, o := range objs {
		if v, ok := o.(*T); ok {
			out = append(out, v)
		}
	}
	return out
}

func TestK8sManifestsDecodeStrictly(t *testing.T) {
	objs := k8sObjects(t)
	for _, o := range objs {
		var spec *corev1.PodSpec
		var name string
		switch o := o.(type) {
		case *appsv1.DaemonSet:
			spec, name = &o.Spec.Template.Spec, "DaemonSet "+o.Name
		case *appsv1.Deployment:
			spec, name = &o.Spec.Template.Spec, "Deployment "+o.Name
		case *batchv1.Job:
			spec, name = &o.Spec.Template.Spec, "Job "+o.Name
		default:
			continue
		}
		checkPodSpec(t, name, spec)
	}
	if len(objectsOf[appsv1.DaemonSet](objs)) != 1 {
		t.Errorf("want exactly one DaemonSet")
	}
}

// checkPodSpec: non-root, and every container with requests and limits.
func checkPodSpec(t *testing.T, name string, spec *corev1.PodSpec) {
	t.Helper()
	if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("%s: pod securityContext.runAsNonRoot is not true", name)
	}
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		r := c.Resources
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := r.Requests[res]; !ok {
				t.Errorf("%s container %s: no %s request", name, c.Name, res)
			}
		}
		if _, ok := r.Limits[corev1.ResourceMemory]; !ok {
			t.Errorf("%s container %s: no memory limit", name, c.Name)
		}
		if c.SecurityContext == nil || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
			t.Errorf("%s container %s: allowPrivilegeEscalation is not false", name, c.Name)
		}
	}
}

// gatewayPod returns the DaemonSet and its Kong and sidecar containers.
func gatewayPod(t *testing.T, objs []any) (*appsv1.DaemonSet, *corev1.Container, *corev1.Container) {
	t.Helper()
	ds := objectsOf[appsv1.DaemonSet](objs)[0]
	spec := &ds.Spec.Template.Spec
	var kong, sidecar *corev1.Container
	for i := range spec.Containers {
		if spec.Containers[i].Name == "kong" {
			kong = &spec.Containers[i]
		}
	}
	for i := range spec.InitContainers {
		if spec.InitContainers[i].Name == "sidecar" {
			sidecar = &spec.InitContainers[i]
		}
	}
	if kong == nil || sidecar == nil {
		t.Fatalf("DaemonSet %s: want a kong container and a sidecar (native sidecar init container)", ds.Name)
	}
	return ds, kong, sidecar
}

func mountOf(c *corev1.Container, path string) *corev1.VolumeMount {
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].MountPath == path {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func volumeOf(spec *corev1.PodSpec, name string) *corev1.Volume {
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == name {
			return &spec.Volumes[i]
		}
	}
	return nil
}

func envOf(c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// TestK8sGatewayPod checks the pod shape: GPU nodes, the shared socket
// emptyDir, the sidecar's GPU, args and probes, Kong's config and secrets.
func TestK8sGatewayPod(t *testing.T) {
	objs := k8sObjects(t)
	ds, kong, sidecar := gatewayPod(t, objs)
	spec := &ds.Spec.Template.Spec

	if len(spec.NodeSelector) == 0 {
		t.Error("DaemonSet: no nodeSelector (GPU nodes only)")
	}
	if sidecar.RestartPolicy == nil || *sidecar.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Error("sidecar: restartPolicy Always missing: it would run as a plain init container and block Kong")
	}
	if uid := parseDockerfile(t).metaArgs["KONG_UID"]; spec.SecurityContext.RunAsUser == nil ||
		fmt.Sprint(*spec.SecurityContext.RunAsUser) != uid {
		t.Errorf("DaemonSet: runAsUser is not the image's Kong uid %s", uid)
	}

	// The socket: one emptyDir, mounted at the socket folder in both containers.
	for _, c := range []*corev1.Container{kong, sidecar} {
		m := mountOf(c, socketDir)
		if m == nil {
			t.Fatalf("container %s: nothing mounted at %s", c.Name, socketDir)
		}
		if m.Name != socketVolume {
			t.Errorf("container %s: %s is volume %q, want %q", c.Name, socketDir, m.Name, socketVolume)
		}
	}
	if v := volumeOf(spec, socketVolume); v == nil || v.EmptyDir == nil {
		t.Errorf("volume %s is not an emptyDir", socketVolume)
	}

	// The sidecar: serving args, the GPU, probes.
	checkSidecarServe(t, "DaemonSet sidecar args", append(slices.Clone(sidecar.Command), sidecar.Args...), productionMaxMessageBytes(t))
	if q, ok := sidecar.Resources.Limits["nvidia.com/gpu"]; !ok || q.Cmp(resource.MustParse("1")) < 0 {
		t.Error("sidecar: no nvidia.com/gpu limit")
	}
	if _, ok := kong.Resources.Limits["nvidia.com/gpu"]; ok {
		t.Error("kong: holds a GPU; only the sidecar needs one")
	}
	// Startup waits for the models; readiness and liveness ask whether the
	// sidecar answers (daemonset.yaml says why readiness is not --ready).
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		ready bool
	}{{"startupProbe", sidecar.StartupProbe, true}, {"readinessProbe", sidecar.ReadinessProbe, false}, {"livenessProbe", sidecar.LivenessProbe, false}} {
		if p.probe == nil || p.probe.Exec == nil {
			t.Errorf("sidecar: no exec %s", p.name)
			continue
		}
		checkProbe(t, "sidecar "+p.name, p.probe.Exec.Command, p.ready)
	}
	for _, p := range sidecar.Ports {
		if p.ContainerPort != sidecarMetricsPort {
			t.Errorf("sidecar: port %d, want %d", p.ContainerPort, sidecarMetricsPort)
		}
	}

	// Kong: ports, its status probes, kong.yml from the ConfigMap, the secrets.
	ports := map[int32]bool{}
	for _, p := range kong.Ports {
		ports[p.ContainerPort] = true
	}
	for _, p := range []int32{proxyPort, statusPort, pluginMetricsPort} {
		if !ports[p] {
			t.Errorf("kong: port %d not declared", p)
		}
	}
	if p := kong.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/status/ready" {
		t.Error("kong: readiness is not Kong's /status/ready")
	}
	decl := envOf(kong, "KONG_DECLARATIVE_CONFIG")
	cfgMount := mountOf(kong, filepath.Dir(decl))
	if cfgMount == nil {
		t.Fatalf("kong: KONG_DECLARATIVE_CONFIG %q is not in a mounted folder", decl)
	}
	cfgVol := volumeOf(spec, cfgMount.Name)
	if cfgVol == nil || cfgVol.ConfigMap == nil {
		t.Fatalf("kong: %s is not a ConfigMap volume", cfgMount.MountPath)
	}
	var cm *corev1.ConfigMap
	for _, c := range objectsOf[corev1.ConfigMap](objs) {
		if c.Name == cfgVol.ConfigMap.Name {
			cm = c
		}
	}
	if cm == nil {
		t.Fatalf("ConfigMap %s is not in the manifests", cfgVol.ConfigMap.Name)
	}
	if got := cm.Data[filepath.Base(decl)]; got != string(repoFile(t, "deploy/kong/kong.yml")) {
		t.Errorf("ConfigMap %s's %s differs from deploy/kong/kong.yml: copy it over (same text, indented)", cm.Name, filepath.Base(decl))
	}

	secMount := mountOf(kong, secretsDir)
	if secMount == nil {
		t.Fatalf("kong: nothing mounted at %s", secretsDir)
	}
	secVol := volumeOf(spec, secMount.Name)
	if secVol == nil || secVol.Secret == nil {
		t.Fatalf("kong: %s is not a Secret volume", secretsDir)
	}
	var secret *corev1.Secret
	for _, s := range objectsOf[corev1.Secret](objs) {
		if s.Name == secVol.Secret.SecretName {
			secret = s
		}
	}
	if secret == nil {
		t.Fatalf("Secret %s is not in the manifests", secVol.Secret.SecretName)
	}
	for _, f := range productionSecretFiles(t) {
		var projected bool
		for _, it := range secVol.Secret.Items {
			if it.Path == f {
				projected = true
				if _, ok := secret.StringData[it.Key]; !ok {
					t.Errorf("Secret %s has no key %s (for %s/%s)", secret.Name, it.Key, secretsDir, f)
				}
			}
		}
		if !projected && len(secVol.Secret.Items) > 0 {
			t.Errorf("kong.yml reads %s/%s, which the secret volume does not project", secretsDir, f)
		}
	}

	// Kubernetes does not expand $(VAR) in images; the kustomization retags them.
	for _, c := range []*corev1.Container{kong, sidecar} {
		name, _, _ := strings.Cut(c.Image, ":")
		if name != map[string]string{"kong": "modelgate", "sidecar": "modelgate-sidecar"}[c.Name] {
			t.Errorf("container %s: image %s", c.Name, c.Image)
		}
	}
}

// TestK8sRedisAndDisruptions checks the Redis Service kong.yml names and that
// the PodDisruptionBudget and the Service select the gateway pods.
func TestK8sRedisAndDisruptions(t *testing.T) {
	objs := k8sObjects(t)
	ds, _, _ := gatewayPod(t, objs)
	podLabels := labels.Set(ds.Spec.Template.Labels)

	var redisSvc *corev1.Service
	var gatewaySvc bool
	for _, s := range objectsOf[corev1.Service](objs) {
		if s.Name == redisService {
			redisSvc = s
		}
		if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(podLabels) {
			gatewaySvc = true
			for _, p := range s.Spec.Ports {
				if p.TargetPort.String() != "proxy" && p.TargetPort.IntValue() != proxyPort {
					t.Errorf("Service %s: targetPort %s is not Kong's proxy", s.Name, p.TargetPort.String())
				}
			}
		}
	}
	if !gatewaySvc {
		t.Error("no Service selects the gateway pods")
	}
	if redisSvc == nil {
		t.Fatalf("no Service %q (deploy/kong/kong.yml's quotas.redis.addr)", redisService)
	}
	if len(redisSvc.Spec.Ports) != 1 || redisSvc.Spec.Ports[0].Port != redisPort {
		t.Errorf("Service %s: want port %d", redisSvc.Name, redisPort)
	}
	var redisPods bool
	for _, d := range objectsOf[appsv1.Deployment](objs) {
		if labels.SelectorFromSet(redisSvc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			redisPods = true
		}
	}
	if !redisPods {
		t.Error("Service redis selects no Deployment's pods")
	}

	pdbs := objectsOf[policyv1.PodDisruptionBudget](objs)
	if len(pdbs) == 0 {
		t.Fatal("no PodDisruptionBudget")
	}
	for _, p := range pdbs {
		sel := labels.SelectorFromSet(p.Spec.Selector.MatchLabels)
		if !sel.Matches(podLabels) {
			t.Errorf("PodDisruptionBudget %s does not select the gateway pods", p.Name)
		}
	}
}

// TestK8sSecretsAreGenerated: no manifest carries a credential. The Secret
// the pods mount comes from kustomize's secretGenerator, from the files
// `deploy/secrets.sh deploy/k8s/secrets` writes (git ignores them), with no
// name suffix so an update reaches the running pods' files.
func TestK8sSecretsAreGenerated(t *testing.T) {
	for _, f := range []string{"configmap.yaml", "daemonset.yaml", "models.yaml", "namespace.yaml", "pdb.yaml", "redis.yaml", "service.yaml"} {
		for _, o := range decodeManifests(t, "deploy/k8s/"+f) {
			if _, ok := o.(*corev1.Secret); ok {
				t.Errorf("deploy/k8s/%s holds a Secret: credentials come from deploy/secrets.sh only", f)
			}
		}
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(repoFile(t, "deploy/k8s/kustomization.yaml"), &k); err != nil {
		t.Fatal(err)
	}
	if len(k.SecretGenerator) == 0 {
		t.Fatal("kustomization.yaml has no secretGenerator")
	}
	written := map[string]bool{}
	for _, f := range scriptOutputs(t) {
		written[f] = true
	}
	for _, g := range k.SecretGenerator {
		if !g.Options.DisableNameSuffixHash {
			t.Errorf("secretGenerator %s: a name suffix makes every update a new Secret the running pods never see", g.Name)
		}
		for key, file := range generatedSecrets(t)[g.Name] {
			if dir, base := path.Split(file); dir != "secrets/" || !written[base] || key != base {
				t.Errorf("secretGenerator %s: %s=%s is not a file deploy/secrets.sh writes into deploy/k8s/secrets", g.Name, key, file)
			}
		}
	}
	for _, dir := range []string{"/deploy/k8s/secrets/", "/deploy/secrets/"} {
		if !slices.Contains(strings.Split(string(repoFile(t, ".gitignore")), "\n"), dir) {
			t.Errorf(".gitignore does not list %s, where deploy/secrets.sh writes", dir)
		}
	}
}
