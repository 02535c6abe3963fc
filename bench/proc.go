package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is Linux's USER_HZ, the unit of /proc/PID/stat's CPU times: 100
// on every architecture Linux exports to user space.
const clockTick = 10 * time.Millisecond

// Proc is a process whose CPU time a run accounts for, so a report can say
// where the machine's cores went (the load generator shares them).
type Proc struct {
	Name string
	Pid  int
	// Tree adds the CPU of Pid's live children (gunicorn's workers).
	Tree bool
}

// CPUTime is the user plus system CPU time pid has used, from /proc/PID/stat.
func CPUTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// After "pid (comm) ": state is field 3, utime 14 and stime 15.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad CPU times", pid)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// ChildPid is the first child of parent whose command line contains arg, or 0.
func ChildPid(parent int, arg string) int {
	if pids := Children(parent, arg); len(pids) > 0 {
		return pids[0]
	}
	return 0
}

// Children returns the pids of parent's live child processes whose command
// line contains arg.
func Children(parent int, arg string) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// stat is "pid (comm) state ppid ...", and comm may hold spaces.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 || fields[0] == "Z" || fields[1] != strconv.Itoa(parent) {
			continue
		}
		if cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline")); bytes.Contains(cmdline, []byte(arg)) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			out = append(out, pid)
		}
	}
	return out
}

// cpuSnapshot reads every process's CPU time; a process that is gone reads 0.
func cpuSnapshot(procs []Proc) []time.Duration {
	out := make([]time.Duration, len(procs))
	for i, p := range procs {
		out[i], _ = CPUTime(p.Pid)
		if p.Tree {
			for _, child := range Children(p.Pid, "") {
				t, _ := CPUTime(child)
				out[i] += t
			}
		}
	}
	return out
}

// MachineBusy is the CPU time all cores have spent busy since boot (every
// state of /proc/stat's "cpu" line but idle and iowait).
func MachineBusy() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0
	}
	var busy int64
	// user nice system idle iowait irq softirq steal: guest time is already in user.
	for i, f := range fields[1:min(len(fields), 9)] {
		if i == 3 || i == 4 {
			continue
		}
		n, _ := strconv.ParseInt(f, 10, 64)
		busy += n
	}
	return time.Duration(busy) * clockTick
}
