package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"syscall"
	"time"
)

// Peer is a running peer service (bench/peers): a process, perhaps with
// workers under it, answering POST /predict {"text": ...}.
type Peer struct {
	URL    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartPeer runs argv in dir with env added to the environment, its output
// to logw, and waits until POST url/predict answers 200 (at most
// startTimeout): a peer is measured only once it answers.
func StartPeer(ctx context.Context, argv []string, dir string, env []string, url string, logw io.Writer, startTimeout time.Duration) (*Peer, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logw, logw
	// Its own process group, so Stop reaches workers a peer forks.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	p := &Peer{URL: url, cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited at start (see its log)", argv[0])
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		default:
		}
		resp, err := client.Post(url+"/predict", "application/json", bytes.NewReader([]byte(`{"text":"a wonderful film"}`)))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("%s not answering within %v (last error: %v)", argv[0], startTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Pid is the peer's main process id.
func (p *Peer) Pid() int { return p.cmd.Process.Pid }

// Stop sends SIGTERM to the peer's process group, waits up to 10 s, then kills it.
func (p *Peer) Stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}
