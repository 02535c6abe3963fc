package threads

import (
	"slices"
	"testing"
)

func TestChoose(t *testing.T) {
	tests := []struct {
		cores  int
		shared bool
		want   Plan
	}{
		// Beside the gateway ONNX Runtime gets half the cores.
		{1, true, Plan{Cores: 1, SharesWithGateway: true, IntraOpThreads: 1, Instances: 1}},
		{2, true, Plan{Cores: 2, SharesWithGateway: true, IntraOpThreads: 1, Instances: 1}},
		{4, true, Plan{Cores: 4, SharesWithGateway: true, IntraOpThreads: 1, Instances: 2}},
		{8, true, Plan{Cores: 8, SharesWithGateway: true, IntraOpThreads: 2, Instances: 2}},
		{16, true, Plan{Cores: 16, SharesWithGateway: true, IntraOpThreads: 4, Instances: 2}},
		{64, true, Plan{Cores: 64, SharesWithGateway: true, IntraOpThreads: 8, Instances: 4}},
		// A sidecar of its own gets every core, spinning from 8 up.
		{0, false, Plan{Cores: 1, IntraOpThreads: 1, Instances: 1}},
		{1, false, Plan{Cores: 1, IntraOpThreads: 1, Instances: 1}},
		{2, false, Plan{Cores: 2, IntraOpThreads: 1, Instances: 2}},
		{3, false, Plan{Cores: 3, IntraOpThreads: 1, Instances: 2}},
		{4, false, Plan{Cores: 4, IntraOpThreads: 2, Instances: 2}},
		{8, false, Plan{Cores: 8, IntraOpThreads: 4, Spinning: true, Instances: 2}},
		{16, false, Plan{Cores: 16, IntraOpThreads: 4, Spinning: true, Instances: 4}},
		{96, false, Plan{Cores: 96, IntraOpThreads: 24, Spinning: true, Instances: 4}},
	}
	for _, tt := range tests {
		got := Choose(tt.cores, tt.shared)
		if got != tt.want {
			t.Errorf("Choose(%d, shared %t) = %+v, want %+v", tt.cores, tt.shared, got, tt.want)
		}
		// Whatever the machine, ONNX Runtime's threads never outnumber its cores.
		budget := got.Cores
		if tt.shared {
			budget = max(got.Cores/2, 1)
		}
		if n := got.Instances * got.IntraOpThreads; n > budget {
			t.Errorf("Choose(%d, shared %t): %d threads for %d cores", tt.cores, tt.shared, n, budget)
		}
	}
}

func TestApply(t *testing.T) {
	off, on := false, true
	base := Choose(8, false)
	tests := []struct {
		name string
		o    Overrides
		want Plan
		set  []string
	}{
		{"none", Overrides{}, base, nil},
		{"threads", Overrides{IntraOpThreads: 1}, Plan{Cores: 8, IntraOpThreads: 1, Spinning: true, Instances: 2}, []string{"intra_op_threads"}},
		{"spinning off", Overrides{Spinning: &off}, Plan{Cores: 8, IntraOpThreads: 4, Instances: 2}, []string{"allow_spinning"}},
		{"all", Overrides{IntraOpThreads: 3, Spinning: &on, Instances: 5}, Plan{Cores: 8, IntraOpThreads: 3, Spinning: true, Instances: 5}, []string{"intra_op_threads", "allow_spinning", "instances"}},
	}
	for _, tt := range tests {
		got, set := base.Apply(tt.o)
		if got != tt.want || !slices.Equal(set, tt.set) {
			t.Errorf("%s: Apply = %+v %v, want %+v %v", tt.name, got, set, tt.want, tt.set)
		}
	}
}
