package core

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/internal/config"
)

// TestShadowNeverChangesTheAnswer mirrors every request to the canary: the
// client still gets the stable answer and version, and the comparison
// lands in the shadow metric.
func TestShadowNeverChangesTheAnswer(t *testing.T) {
	g := startGateway(t, shadowAdderConfig(t))
	counter := g.metrics.shadow.WithLabelValues("adder", "1", "2", shadowDisagree)
	before := value(counter)
	const n = 10
	for i := 0; i < n; i++ {
		res := call(g, "POST", "/v2/models/adder/infer", keyBob, adderBody)
		r := decodeResult(t, res)
		if v := adderVersion(t, r); v != "1" || res.Header.Get("X-Model-Version") != "1" {
			t.Fatalf("request %d: answered by %s (header %q), want the primary 1", i, v, res.Header.Get("X-Model-Version"))
		}
	}
	// Versions 1 and 2 answer different sums, so every shadow disagrees.
	// The shadow calls run after the answers: wait for them to land.
	deadline := time.Now().Add(time.Minute)
	for value(counter)-before < n {
		if time.Now().After(deadline) {
			t.Fatalf("shadow disagreements %v, want %d", value(counter)-before, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if e := value(g.metrics.shadow.WithLabelValues("adder", "1", "2", shadowError)); e != 0 {
		t.Errorf("%v shadow errors", e)
	}
}

// TestSidecarCrashAndRestart kills a launched sidecar: until it is back,
// requests get 503 + Retry-After (never a hang, never another status), and
// then it serves again.
func TestSidecarCrashAndRestart(t *testing.T) {
	cfg := adderConfig(t)
	cfg.Sidecar = testSidecar(t, "--intra-op-threads", "1") // a private sidecar
	g := startGateway(t, cfg)
	restarts := value(g.metrics.sidecarRestarts)
	pid := childWithArg(t, "--intra-op-threads")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	unavailable := 0
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res := call(g, "POST", "/v2/models/adder/versions/1/infer", keyBob, adderBody)
		if res.Status == http.StatusOK && childWithArgOrZero("--intra-op-threads") != pid {
			break
		}
		if res.Status == http.StatusServiceUnavailable {
			unavailable++
			if res.Header.Get("Retry-After") == "" {
				t.Fatalf("503 without Retry-After: %s", res.Body)
			}
		} else if res.Status != http.StatusOK {
			t.Fatalf("while the sidecar was down: %d %s", res.Status, res.Body)
		}
		if time.Now().After(deadline) {
			t.Fatal("the sidecar did not come back within 2 minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if value(g.metrics.sidecarRestarts) <= restarts {
		t.Error("sidecar_restarts_total did not grow")
	}
	t.Logf("%d requests answered 503 while the sidecar restarted", unavailable)
}

// childWithArg finds the pid of this process's child whose command line
// holds arg.
func childWithArg(t *testing.T, arg string) int {
	t.Helper()
	pid := childWithArgOrZero(arg)
	if pid == 0 {
		t.Fatalf("no child process with %s", arg)
	}
	return pid
}

func childWithArgOrZero(arg string) int {
	me := strconv.Itoa(os.Getpid())
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// stat: pid (comm) state ppid ...; comm may hold spaces.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		fields := strings.Fields(rest)
		if len(fields) < 2 || fields[1] != me || fields[0] == "Z" {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		if strings.Contains(string(cmdline), arg) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid
		}
	}
	return 0
}

// value reads a counter or gauge.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// TestAttachReconnects: in attach mode the sidecar runs on its own; when it
// goes away requests get 503 + Retry-After, and when it is back on its
// socket the supervisor reconnects.
func TestAttachReconnects(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "sidecar.sock")
	start := func() *exec.Cmd {
		cmd := exec.Command(testutil.Binary(t, "modelgate-sidecar"), "--models",
			testutil.TestModels(), "--socket", socket,
			"--ort-lib", testutil.ORTLib(t), "--log-level", "warn")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	side := start()
	cfg := adderConfig(t)
	cfg.Sidecar = config.Sidecar{Mode: "attach", Socket: socket, CheckInterval: "100ms"}
	g := startGateway(t, cfg)
	if res := call(g, "POST", "/v2/models/adder/versions/1/infer", keyBob, adderBody); res.Status != http.StatusOK {
		t.Fatalf("attached: %d %s", res.Status, res.Body)
	}
	_ = side.Process.Kill()
	_ = side.Wait()
	res := call(g, "POST", "/v2/models/adder/versions/1/infer", keyBob, adderBody)
	if res.Status != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("sidecar gone: %d %v %s", res.Status, res.Header, res.Body)
	}
	side = start()
	defer func() { _ = side.Process.Kill(); _ = side.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res := call(g, "POST", "/v2/models/adder/versions/1/infer", keyBob, adderBody)
		if res.Status == http.StatusOK {
			break
		}
		if res.Status != http.StatusServiceUnavailable {
			t.Fatalf("while reconnecting: %d %s", res.Status, res.Body)
		}
		if time.Now().After(deadline) {
			t.Fatal("did not reconnect within 2 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
