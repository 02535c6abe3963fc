package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared"
)

// The sidecar logs the threads it chose for its cores (GOMAXPROCS here),
// shared with the gateway when the plugin server launched it, and what
// flags overrode.
func TestThreadsLogLine(t *testing.T) {
	tests := []struct {
		name     string
		launched bool
		cores    string
		flags    []string
		want     map[string]any
	}{
		{"standalone, 2 cores", false, "2", nil,
			map[string]any{"cores": 2.0, "shares_cores_with_gateway": false, "intra_op_threads": 1.0, "allow_spinning": false, "instances": 2.0}},
		{"launched, 2 cores", true, "2", nil,
			map[string]any{"cores": 2.0, "shares_cores_with_gateway": true, "intra_op_threads": 1.0, "allow_spinning": false, "instances": 1.0}},
		{"shared under Kong (socket, --beside-gateway), 2 cores", false, "2", []string{"--beside-gateway"},
			map[string]any{"cores": 2.0, "shares_cores_with_gateway": true, "intra_op_threads": 1.0, "allow_spinning": false, "instances": 1.0}},
		{"standalone, 8 cores", false, "8", nil,
			map[string]any{"cores": 8.0, "intra_op_threads": 4.0, "allow_spinning": true, "instances": 2.0}},
		{"flags override", false, "8", []string{"--intra-op-threads", "3", "--allow-spinning=false", "--instances", "5"},
			map[string]any{"cores": 8.0, "intra_op_threads": 3.0, "allow_spinning": false, "instances": 5.0,
				"set_by_flags": []any{"intra_op_threads", "allow_spinning", "instances"}}},
	}
	bin := testutil.Binary(t, "modelgate-sidecar")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"--models", t.TempDir(), "--ort-lib", testutil.ORTLib(t)}
			if !tt.launched {
				args = append(args, "--socket", filepath.Join(t.TempDir(), "sidecar.sock"))
			}
			cmd := exec.Command(bin, append(args, tt.flags...)...)
			cookie := shared.Handshake.MagicCookieKey + "="
			if tt.launched {
				cookie += shared.Handshake.MagicCookieValue
			}
			cmd.Env = append(os.Environ(), "GOMAXPROCS="+tt.cores, cookie)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			line := threadsLine(t, stderr)
			for k, v := range tt.want {
				if got, _ := json.Marshal(line[k]); string(got) != mustJSON(t, v) {
					t.Errorf("%s = %s, want %s (line %v)", k, got, mustJSON(t, v), line)
				}
			}
		})
	}
}

// threadsLine reads JSON log lines until the "ONNX Runtime threads" one
// (msg standalone, @message launched) and returns it.
func threadsLine(t *testing.T, r io.Reader) map[string]any {
	t.Helper()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		if line["msg"] == "ONNX Runtime threads" || line["@message"] == "ONNX Runtime threads" {
			return line
		}
	}
	t.Fatalf("no \"ONNX Runtime threads\" log line before stderr closed (%v)", sc.Err())
	return nil
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
