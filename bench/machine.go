// Package bench measures modelgate against its own limit: raw ONNX Runtime
// in-process, then the sidecar over its socket, then the full serving paths,
// all in one run on one machine so that the ratios between them mean something.
package bench

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where a run happened.
type Machine struct {
	Arch   string `json:"arch"`
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
	// LoadBefore and LoadAfter are /proc/loadavg's 1-minute load when the
	// run started and ended: other work on the machine skews absolute numbers
	// (the ratios, measured in interleaved rounds, much less).
	LoadBefore float64 `json:"load_before"`
	LoadAfter  float64 `json:"load_after"`
}

// LoadAvg is the 1-minute load average, or -1 if unknown.
func LoadAvg() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f, err := strconv.ParseFloat(strings.Fields(string(data) + " x")[0], 64)
	if err != nil {
		return -1
	}
	return f
}

// ThisMachine reads uname -m, the CPU model from /proc/cpuinfo and the core count.
func ThisMachine() Machine {
	m := Machine{Arch: runtime.GOARCH, Cores: runtime.NumCPU(), Go: runtime.Version(), CPU: "unknown", LoadBefore: LoadAvg()}
	if out, err := exec.Command("uname", "-m").Output(); err == nil {
		m.Arch = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			key, value, ok := strings.Cut(sc.Text(), ":")
			key = strings.TrimSpace(key)
			// x86 says "model name"; arm64 kernels often only say "CPU part".
			if ok && (key == "model name" || key == "Hardware" || key == "Model") {
				m.CPU = strings.TrimSpace(value)
				break
			}
		}
	}
	return m
}

// String is one line: "x86_64, Intel(R) Xeon(R) ..., 2 cores".
func (m Machine) String() string {
	return m.Arch + ", " + m.CPU + ", " + strconv.Itoa(m.Cores) + " cores"
}
