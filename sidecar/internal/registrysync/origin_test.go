package registrysync

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelgate/modelgate/internal/registry"
	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/sidecar/internal/metrics"
	"github.com/modelgate/modelgate/sidecar/internal/repository"
	"github.com/modelgate/modelgate/sidecar/internal/testmodels"
)

// openRepository is the repository a sidecar runs over the syncer's folder,
// with the syncer as its Origins; closed when the test ends.
func openRepository(t *testing.T, s *Syncer) *repository.Repository {
	t.Helper()
	testmodels.InitORT(t)
	r := repository.New(repository.Options{Dir: s.opts.Dir, IntraOpThreads: 1, Origins: s,
		Metrics: metrics.New(prometheus.NewRegistry()), Logger: testutil.Logger(t)})
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

// node is a registry holding adder versions 1 and 2 (policy latest 2,
// unsigned) and a sidecar's syncer and repository that have pulled and
// loaded them.
type node struct {
	client    *registry.Client
	src, name string // the adder's source folder, its repository in the registry
	models    string // the node's models folder
	s         *Syncer
	repo      *repository.Repository
}

func pulledAdder(t *testing.T) node {
	t.Helper()
	reg, client := startRegistry(t)
	n := node{client: client, src: adderSource(t), name: reg.Host + "/models/adder", models: t.TempDir()}
	for _, v := range []string{"1", "2"} {
		if _, err := client.Push(context.Background(), filepath.Join(n.src, v), n.name); err != nil {
			t.Fatal(err)
		}
	}
	n.s = newSyncer(t, client, reg.Host+"/models", n.models)
	n.repo = openRepository(t, n.s)
	if _, err := n.s.Sync(context.Background(), n.repo); err != nil {
		t.Fatal(err)
	}
	return n
}

// indexOf returns the repository's index entries of model by version.
func indexOf(r *repository.Repository, model string) map[string]repository.Entry {
	out := map[string]repository.Entry{}
	for _, e := range r.Index() {
		if e.Model == model {
			out[e.Version] = e
		}
	}
	return out
}

// TestIndexShowsRegistryDigest: a version pulled from the registry is
// indexed with the manifest digest its tag resolved to, and source registry.
func TestIndexShowsRegistryDigest(t *testing.T) {
	reg, client := startRegistry(t)
	ctx := context.Background()
	src := adderSource(t)
	name := reg.Host + "/models/adder"
	want := map[string]string{}
	for _, v := range []string{"1", "2"} {
		p, err := client.Push(ctx, filepath.Join(src, v), name)
		if err != nil {
			t.Fatal(err)
		}
		want[v] = p.Digest.String()
	}
	s := newSyncer(t, client, reg.Host+"/models", t.TempDir())
	repo := openRepository(t, s)
	if _, err := s.Sync(ctx, repo); err != nil {
		t.Fatal(err)
	}
	got := indexOf(repo, "adder")
	for v, d := range want {
		e := got[v]
		if e.State != repository.StateReady || e.Source != repository.SourceRegistry || e.Digest != d {
			t.Errorf("version %s: %+v; want READY from the registry with digest %s", v, e, d)
		}
	}
}
