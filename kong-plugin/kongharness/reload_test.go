package kongharness_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// TestReloadUnderLoad does to a plugin server what `kong reload` does
// (kongharness.Node): a second plugin server on the same prefix, the
// plugin instance started on it, traffic moving over, SIGTERM to the first
// once its requests have returned. Under steady traffic no request fails,
// one sidecar process serves both generations (the models are never loaded
// twice), it outlives the first plugin server, and the local quota
// counters of both generations are one.
func TestReloadUnderLoad(t *testing.T) {
	ctx := context.Background()
	prefix := t.TempDir()
	node, err := kongharness.StartNode(ctx, testutil.Binary(t, "modelgate"),
		// ORT_LIB passed as the image passes it: --ort-lib may name only $ORT_LIB.
		kongharness.Options{Prefix: prefix, Output: testWriter{t}, Env: []string{"ORT_LIB=" + testutil.ORTLib(t), "KONG_NGINX_MAIN_ENV=ORT_LIB; env MODELGATE_SECRET_DIRS"}},
		"modelgate", pluginConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := node.Close(); err != nil {
			t.Error(err)
		}
	})
	hdr := http.Header{"Apikey": {apiKey}, "Content-Type": {"application/json"}}
	const body = `{"inputs":[{"name":"a","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]},
	  {"name":"b","datatype":"FP32","shape":[1,4],"data":[10,20,30,40]}]}`
	consumers := map[string]kongharness.Consumer{"demo": {ID: "c0ffee", Username: "demo"}}
	infer := func() (*kongharness.Response, error) {
		return node.Access(ctx, kongharness.Request{Method: "POST", Path: "/v2/models/adder/infer",
			Header: hdr, Body: []byte(body), Consumers: consumers})
	}
	// Kong starts the instance, and so the sidecar, on the first request.
	if err := node.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	sidecar := sidecarPids(t, prefix)
	if len(sidecar) != 1 {
		t.Fatalf("sidecar processes under the prefix: %v, want one", sidecar)
	}

	// Steady traffic from 4 clients; each request counts in the
	// generation it started in, so the old server is stopped only once
	// the requests that may have reached it have returned.
	var (
		generation atomic.Int32
		inFlight   [2]sync.WaitGroup
		mu         sync.Mutex
		failures   []string
		served     [2]atomic.Int64
		stop       = make(chan struct{})
		clients    sync.WaitGroup
	)
	for range 4 {
		clients.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock() // Add and Wait of one WaitGroup must not race
				g := generation.Load()
				inFlight[g].Add(1)
				mu.Unlock()
				res, err := infer()
				inFlight[g].Done()
				if err != nil || res.Status != http.StatusOK {
					mu.Lock()
					failures = append(failures, describe(res, err))
					mu.Unlock()
					continue
				}
				served[g].Add(1)
			}
		})
	}
	for served[0].Load() < 50 {
		time.Sleep(10 * time.Millisecond) // the test's timeout bounds the wait
	}
	old, err := node.Reload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	generation.Store(1)
	mu.Unlock()
	inFlight[0].Wait() // the old worker has drained
	for served[1].Load() < 50 {
		time.Sleep(10 * time.Millisecond) // the test's timeout bounds the wait
	}
	if err := old.Close(); err != nil { // SIGTERM, as Kong sends it
		t.Fatal(err)
	}
	after := served[1].Load()
	for served[1].Load() < after+50 {
		time.Sleep(10 * time.Millisecond) // the test's timeout bounds the wait
	}
	close(stop)
	clients.Wait()

	if len(failures) > 0 {
		t.Errorf("%d requests failed across the reload, e.g. %s", len(failures), failures[0])
	}
	// The local quota counted every request of both generations in one
	// place: the next one sees all of them (day limit 100000).
	res, err := infer()
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("after the reload: %s", describe(res, err))
	}
	want := strconv.Itoa(100000 - int(served[0].Load()+served[1].Load()) - 1)
	if got := res.Header.Get("X-RateLimit-Remaining-Day"); got != want {
		t.Errorf("X-RateLimit-Remaining-Day after %d+%d requests across the reload: %s, want %s (no counter restarted)",
			served[0].Load(), served[1].Load(), got, want)
	}
	if now := sidecarPids(t, prefix); !slices.Equal(now, sidecar) {
		t.Errorf("sidecar processes after the reload: %v, want the one from before, %v", now, sidecar)
	}
	t.Logf("served %d requests before the reload, %d after, none failed", served[0].Load(), served[1].Load())
}

// sidecarPids lists the live modelgate-sidecar processes serving a socket
// under prefix.
func sidecarPids(t *testing.T, prefix string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if filepath.Base(args[0]) != "modelgate-sidecar" || !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, prefix+"/") }) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err != nil || isZombie(stat) {
			continue
		}
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids
}

// isZombie reads the state field of /proc/PID/stat (after the command in
// parentheses).
func isZombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

func describe(res *kongharness.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return strconv.Itoa(res.Status) + " " + string(res.Body)
}
