package registrysync

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

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
