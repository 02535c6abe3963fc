package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Serve is a running `modelgate serve` process.
type Serve struct {
	URL    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// ServeArgs is the command line of `modelgate serve` on config, listening on addr.
func ServeArgs(config, addr string) []string {
	return []string{"serve", "--config", config, "--listen", addr}
}

// StartServe runs binary with ServeArgs in dir and waits until
// /v2/health/ready answers 200 (at most startTimeout). Its log goes to logw.
// allow are folders outside the config's own that its paths name (the
// model repository): they are added to the process's MODELGATE_SECRET_DIRS,
// as an operator would.
func StartServe(ctx context.Context, binary, config, addr, dir string, allow []string, logw io.Writer, startTimeout time.Duration, extra ...string) (*Serve, error) {
	cmd := exec.Command(binary, append(ServeArgs(config, addr), extra...)...)
	cmd.Dir = dir
	cmd.Env = AllowFolders(os.Environ(), allow...)
	cmd.Stdout, cmd.Stderr = logw, logw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	s := &Serve{URL: "http://" + addr, cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(startTimeout)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("modelgate serve exited at start (see its log)")
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		default:
		}
		if resp, err := client.Get(s.URL + "/v2/health/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("modelgate serve not ready within %v", startTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pid is the serve process's id.
func (s *Serve) Pid() int { return s.cmd.Process.Pid }

// Stop sends SIGTERM, waits up to 30 s, then kills.
func (s *Serve) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// WriteServeConfig writes dir/kong.yml for a serve process that launches
// sidecarBin on repo, with one consumer whose API key it returns.
func WriteServeConfig(dir, sidecarBin, lib, repo string, sidecarArgs ...string) (path, key string, err error) {
	return WriteServeConfigWith(dir, sidecarBin, lib, repo, nil, sidecarArgs...)
}

// WriteServeConfigWith is WriteServeConfig with extra merged into the
// plugin config last (GatewayConfig.Extra), e.g. a privacy section.
func WriteServeConfigWith(dir, sidecarBin, lib, repo string, extra map[string]any, sidecarArgs ...string) (path, key string, err error) {
	key, digest := NewAPIKey()
	path = filepath.Join(dir, "kong.yml")
	g := FullPathConfig(sidecarBin, lib, repo, digest, sidecarArgs...)
	g.Extra = extra
	if err := WriteKongYAML(path, g); err != nil {
		return "", "", err
	}
	return path, key, os.Chmod(path, 0o600)
}

// FullPathConfig is the plugin config both full paths (serve and the Kong
// plugin server) run with: auth by the API key whose SHA-256 is digest,
// quotas counted against HugeTier, and sidecarBin launched on repo.
func FullPathConfig(sidecarBin, lib, repo, digest string, sidecarArgs ...string) GatewayConfig {
	return GatewayConfig{
		Sidecar: map[string]any{
			"mode": "launch", "command": sidecarBin,
			"args": append([]string{"--models", repo, "--ort-lib", lib, "--log-level", "warn"}, sidecarArgs...),
		},
		APIKeySHA256: digest,
		Limits:       map[string]any{"max_body_bytes": 8 << 20, "default_timeout": "10s"},
	}
}

// secretDirsEnv is the plugin server's list of further folders its config
// may name (kong-plugin/internal/trust.EnvSecretDirs).
const secretDirsEnv = "MODELGATE_SECRET_DIRS"

// AllowFolders returns env with dirs added to MODELGATE_SECRET_DIRS.
func AllowFolders(env []string, dirs ...string) []string {
	if len(dirs) == 0 {
		return env
	}
	out := make([]string, 0, len(env)+1)
	list := strings.Join(dirs, ":")
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, secretDirsEnv+"="); ok {
			if v != "" {
				list += ":" + v
			}
			continue
		}
		out = append(out, kv)
	}
	return append(out, secretDirsEnv+"="+list)
}
