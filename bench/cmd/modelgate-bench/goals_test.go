package main

import (
	"strings"
	"testing"

	"github.com/modelgate/modelgate/bench"
)

// TestSentenceGoalsSayWhereTheCeilingIs checks the notes beside goal (a):
// how far the lean ceiling is above the Node peer in this run, and how much
// of it the goal asks of serve.
func TestSentenceGoalsSayWhereTheCeilingIs(t *testing.T) {
	w := bench.WorkloadSentences
	point := func(path string, perSecond float64) bench.Point {
		p := bench.Point{Workload: w, Path: path, Clients: 64}
		p.ItemsPerSecond = perSecond
		return p
	}
	rep := &bench.Report{Points: []bench.Point{
		point(bench.PathNode, 3000), point(bench.PathLean, 4500), point(bench.PathServe, 2700),
	}}
	addSentenceGoals(rep)
	notes := strings.Join(rep.Notes, "\n")
	for _, want := range []string{
		"the lean ceiling serves 1.50x the Node peer's req/s on this machine",
		"goal (a)'s 2.0x for serve is 133% of the ceiling here",
		"modelgate serve (HTTP, auth, quotas) at 64 clients reaches 60% of the lean ceiling's req/s",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	var overNode *bench.Goal
	for i, g := range rep.Goals {
		if strings.Contains(g.Name, "over the Node peer's") {
			overNode = &rep.Goals[i]
		}
	}
	if overNode == nil || overNode.Measured != 0.9 || overNode.Met {
		t.Errorf("goal (a) for serve = %+v, want 0.9x, missed", overNode)
	}
}
