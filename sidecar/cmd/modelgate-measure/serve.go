package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// gateway is one `modelgate serve` started for the measurement: its own
// kong.yml with one consumer on a tier without limits, the sidecar launched
// on the model repository that holds the measured model.
type gateway struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	addr   string
	key    string
	model  string
	client *http.Client
	mu     sync.Mutex
	output bytes.Buffer
}

// Write collects the gateway's log, which says when it is ready.
func (g *gateway) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.output.Write(p)
}

func (g *gateway) log() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.output.String()
}

const gatewayConfig = `_format_version: "3.0"
routes:
  - name: predict
    paths: [/v1/models/]
    methods: [POST]
    strip_path: false
plugins:
  - name: modelgate
    config:
      sidecar:
        mode: launch
        command: %q
        args: ["--models", %q]
        max_message_bytes: 16777216
      limits:
        max_body_bytes: 8388608
        default_timeout: 10s
      auth:
        consumers:
          - name: measure
            tier: measure
            key_sha256: [%q]
        kong_consumer: false
      quotas:
        policy: local
        tiers:
          - name: measure
            concurrency: 64
      models:
        - name: %s
`

// startGateway runs bin/modelgate serve on a free port of 127.0.0.1 and
// waits until it says it is ready (every model loaded).
func startGateway(bin, models string) (*gateway, error) {
	models, err := filepath.Abs(models)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	key := "mg_" + hex.EncodeToString(secret)
	digest := sha256.Sum256([]byte(key))
	dir, err := os.MkdirTemp("", "modelgate-measure")
	if err != nil {
		return nil, err
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return nil, err
	}
	sidecar := filepath.Join(bin, "modelgate-sidecar")
	model := filepath.Base(models)
	config := fmt.Sprintf(gatewayConfig, sidecar, filepath.Dir(models), hex.EncodeToString(digest[:]), model)
	if err := os.WriteFile(filepath.Join(dir, "kong.yml"), []byte(config), 0o600); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	g := &gateway{addr: addr, key: key, model: model, client: &http.Client{Timeout: time.Minute}}
	g.cmd = exec.Command(filepath.Join(bin, "modelgate"), "serve", "--config", filepath.Join(dir, "kong.yml"), "--listen", addr)
	g.cmd.Dir = dir
	g.cmd.Stdout, g.cmd.Stderr = g, g
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting modelgate serve: %w", err)
	}
	g.exited = make(chan struct{})
	go func() { g.cmd.Wait(); close(g.exited) }()
	deadline := time.After(2 * time.Minute)
	for !strings.Contains(g.log(), "ready on "+addr) {
		select {
		case <-g.exited:
			return nil, fmt.Errorf("modelgate serve exited before it was ready:\n%s", g.log())
		case <-deadline:
			g.stop()
			return nil, fmt.Errorf("modelgate serve not ready after 2 minutes:\n%s", g.log())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return g, nil
}

func (g *gateway) stop() {
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(30 * time.Second):
		g.cmd.Process.Kill()
		<-g.exited
	}
}

// bodies are the {"instances": [...]} requests for texts in batches of size.
func bodies(texts []string, size int) ([][]byte, error) {
	var out [][]byte
	for start := 0; start < len(texts); start += size {
		body, err := json.Marshal(map[string]any{"instances": texts[start:min(start+size, len(texts))]})
		if err != nil {
			return nil, err
		}
		out = append(out, body)
	}
	return out, nil
}

// predict sends one request to version and returns the labels it answered.
func (g *gateway) predict(ctx context.Context, version string, body []byte) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		"http://"+g.addr+"/v1/models/"+g.model+"/versions/"+version+":predict", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Apikey", g.key)
	res, err := g.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("X-Model-Version") != version {
		return nil, fmt.Errorf("version %s: %d (X-Model-Version %q) %s", version, res.StatusCode, res.Header.Get("X-Model-Version"), data)
	}
	var out struct {
		Predictions []struct {
			Label string `json:"label"`
		} `json:"predictions"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("version %s: %w in %s", version, err, data)
	}
	labels := make([]string, len(out.Predictions))
	for i, p := range out.Predictions {
		labels[i] = p.Label
	}
	return labels, nil
}

// serveSpeed sends every text once, one request at a time, in batches of
// size, and returns items per second and the median request latency.
func (g *gateway) serveSpeed(ctx context.Context, version string, texts []string, size int) (runStats, error) {
	reqs, err := bodies(texts, size)
	if err != nil {
		return runStats{}, err
	}
	latencies := make([]float64, 0, len(reqs))
	start := time.Now()
	for _, body := range reqs {
		t := time.Now()
		if _, err := g.predict(ctx, version, body); err != nil {
			return runStats{}, err
		}
		latencies = append(latencies, time.Since(t).Seconds())
	}
	elapsed := time.Since(start).Seconds()
	slices.Sort(latencies)
	return runStats{itemsPerSecond: float64(len(texts)) / elapsed, p50: latencies[len(latencies)/2]}, nil
}

// serveAccuracy runs texts through version in requests of 32 and returns
// the share labelled as labels says (0 negative, 1 positive).
func (g *gateway) serveAccuracy(ctx context.Context, version string, texts []string, labels []int, names []string) (float64, error) {
	reqs, err := bodies(texts, 32)
	if err != nil {
		return 0, err
	}
	correct, i := 0, 0
	for _, body := range reqs {
		got, err := g.predict(ctx, version, body)
		if err != nil {
			return 0, err
		}
		for _, label := range got {
			if label == names[labels[i]] {
				correct++
			}
			i++
		}
	}
	return float64(correct) / float64(len(texts)), nil
}
