package repository

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared/tensor"
	"github.com/modelgate/modelgate/sidecar/internal/metrics"
	"github.com/modelgate/modelgate/sidecar/internal/modelfile"
	"github.com/modelgate/modelgate/sidecar/internal/testmodels"
)

// open returns a polled repository over dir, closed when the test ends.
func open(t *testing.T, dir string) *Repository {
	t.Helper()
	return openWith(t, Options{Dir: dir})
}

// openWith is open with more options set (Dir among them).
func openWith(t *testing.T, opts Options) *Repository {
	t.Helper()
	testmodels.InitORT(t)
	opts.Metrics, opts.IntraOpThreads, opts.Logger = metrics.New(prometheus.NewRegistry()), 1, testutil.Logger(t)
	r := New(opts)
	if err := r.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

// encryptedAdderRepo is a repository holding only adder version 1, as
// model.onnx.enc encrypted with key (no config.yaml encryption section yet).
func encryptedAdderRepo(t *testing.T, key []byte) string {
	t.Helper()
	dir := testmodels.Repo(t, "adder")
	v1 := filepath.Join(dir, "adder", "1")
	enc, err := modelfile.Encrypt(key, testmodels.ModelBytes(t, "adder", "1"), modelfile.Identity{Model: "adder", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(v1, "model.onnx"))
	os.Remove(filepath.Join(v1, "model.onnx.sha256"))
	testmodels.Write(t, filepath.Join(v1, "model.onnx.enc"), enc)
	os.RemoveAll(filepath.Join(dir, "adder", "2"))
	os.RemoveAll(filepath.Join(dir, "adder", "3"))
	return dir
}

// addSum runs adder version (""=latest) on a=[1,2,3,4], b=[10,20,30,40] and
// returns the version that answered and sum[0] (11 + version - 1).
func addSum(t testing.TB, r *Repository, version string) (string, float32, error) {
	s, release, err := r.Acquire("adder", version)
	if err != nil {
		return "", 0, err
	}
	defer release()
	out, err := s.Infer(context.Background(), []tensor.Tensor{
		{Name: "a", DataType: tensor.FP32, Shape: []int64{1, 4}, Raw: testutil.FP32(1, 2, 3, 4)},
		{Name: "b", DataType: tensor.FP32, Shape: []int64{1, 4}, Raw: testutil.FP32(10, 20, 30, 40)},
	}, []string{"sum"})
	if err != nil {
		return s.Version, 0, err
	}
	return s.Version, testutil.Float32s(out[0].Raw)[0], nil
}

func states(r *Repository, model string) map[string]string {
	out := map[string]string{}
	for _, e := range r.Index() {
		if e.Model == model {
			out[e.Version] = e.State
		}
	}
	return out
}

func reasonOf(r *Repository, model, version string) string {
	for _, e := range r.Index() {
		if e.Model == model && e.Version == version {
			return e.Reason
		}
	}
	return ""
}
