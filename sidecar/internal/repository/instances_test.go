package repository

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/sidecar/internal/metrics"
	"github.com/modelgate/modelgate/sidecar/internal/testmodels"
)

// A config without instance_group.count gets the sidecar's choice
// (Options.Instances) on the CPU; a count in the config wins.
func TestInstanceCount(t *testing.T) {
	tests := []struct {
		name      string
		count     string // the config's instance_group line, "" for none
		instances int    // Options.Instances
		want      int
	}{
		{"sidecar's choice", "", 3, 3},
		{"no choice made", "", 0, 1},
		{"config wins", "instance_group: {count: 2}\n", 3, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testmodels.InitORT(t)
			dir := testmodels.Repo(t, "adder")
			os.RemoveAll(filepath.Join(dir, "adder", "2"))
			os.RemoveAll(filepath.Join(dir, "adder", "3"))
			testmodels.WriteFile(t, filepath.Join(dir, "adder", "config.yaml"), "max_batch_size: 8\ndynamic_batching: {}\n"+tt.count)
			r := New(Options{Dir: dir, Metrics: metrics.New(prometheus.NewRegistry()), IntraOpThreads: 1, NoSpinning: true,
				Instances: tt.instances, Logger: testutil.Logger(t)})
			if err := r.Poll(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Close(context.Background()) })
			s, release, err := r.Acquire("adder", "1")
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			if len(s.sessions) != tt.want {
				t.Errorf("%d sessions, want %d", len(s.sessions), tt.want)
			}
			if _, sum, err := addSum(t, r, "1"); err != nil || sum != 11 {
				t.Errorf("adder answered %v, %v; want 11", sum, err)
			}
		})
	}
}
