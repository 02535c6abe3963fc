package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/modelgate/modelgate/bench"
)

// gateway is one `modelgate serve` started for the measurement (the bench's
// kong.yml and start-up: one consumer on a tier whose limits are never
// reached), its sidecar launched on the repository holding the measured model.
type gateway struct {
	serve  *bench.Serve
	dir    string
	addr   string
	key    string
	model  string
	client *http.Client
}

// startGateway runs bin/modelgate serve on a free port of 127.0.0.1 and
// waits until it answers ready (every model loaded).
func startGateway(bin, models string) (*gateway, error) {
	models, err := filepath.Abs(models)
	if err != nil {
		return nil, err
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "modelgate-measure")
	if err != nil {
		return nil, err
	}
	key, digest := bench.NewAPIKey()
	model := filepath.Base(models)
	cfg := bench.GatewayConfig{
		Sidecar: map[string]any{"mode": "launch", "command": filepath.Join(bin, "modelgate-sidecar"),
			"args": []string{"--models", filepath.Dir(models)}, "max_message_bytes": 16 << 20},
		APIKeySHA256: digest,
		Limits:       map[string]any{"max_body_bytes": 8 << 20, "default_timeout": "10s"},
		Models:       []map[string]any{{"name": model}},
	}
	config := filepath.Join(dir, "kong.yml")
	if err := bench.WriteKongYAML(config, cfg); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	s, err := bench.StartServe(context.Background(), filepath.Join(bin, "modelgate"), config, addr, dir, []string{filepath.Dir(models)}, logf, 2*time.Minute)
	if err != nil {
		log, _ := os.ReadFile(logf.Name())
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w:\n%s", err, log)
	}
	return &gateway{serve: s, dir: dir, addr: addr, key: key, model: model, client: &http.Client{Timeout: time.Minute}}, nil
}

func (g *gateway) stop() {
	g.serve.Stop()
	os.RemoveAll(g.dir)
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
