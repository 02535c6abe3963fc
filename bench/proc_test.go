package bench

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestCPUTimeAndChildPid(t *testing.T) {
	before, err := CPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn some CPU: the counter must not go backwards.
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	after, err := CPUTime(os.Getpid())
	if err != nil || after < before || x == 0 {
		t.Fatalf("CPU time %v then %v (%v)", before, after, err)
	}
	if b1, b2 := MachineBusy(), MachineBusy(); b1 <= 0 || b2 < b1 {
		t.Fatalf("machine busy time %v then %v", b1, b2)
	}
	if _, err := CPUTime(-1); err == nil {
		t.Fatal("CPU time of no process")
	}
	cmd := exec.Command("sleep", "30.5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// Until the child has exec'd sleep, its command line is still this test's.
	got := 0
	for deadline := time.Now().Add(10 * time.Second); got == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		got = ChildPid(os.Getpid(), "30.5")
	}
	if got != cmd.Process.Pid {
		t.Fatalf("ChildPid = %d, want %d", got, cmd.Process.Pid)
	}
	if got := ChildPid(os.Getpid(), "no-such-arg"); got != 0 {
		t.Fatalf("ChildPid for a missing arg = %d", got)
	}
}
