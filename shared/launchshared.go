package shared

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// SharedConfig says how to find, or else launch, a sidecar that every
// plugin server of one Kong prefix shares.
//
// `kong reload` runs two plugin servers at once: the new generation's
// worker 0 spawns a new one while the old worker drains, and the old one
// gets SIGTERM only when that worker exits (Kong 3.9.3,
// kong/runloop/plugin_servers/process.lua). A sidecar that go-plugin
// launched per plugin server would be loaded twice while they overlap, and
// would die with its launcher. A shared sidecar listens on a well-known
// socket instead; a plugin server that finds it live attaches to it, and it
// exits IdleExit after its last client disconnected.
type SharedConfig struct {
	// Launch is how to start the sidecar when none answers on Socket:
	// Command and Args (Socket and IdleExit are added as --socket and
	// --idle-exit, and --beside-gateway), Env, and MaxMessageBytes for the client side. Its StopTimeout is unused: a
	// shared sidecar is never stopped by a client.
	Launch LaunchConfig
	// Socket is the well-known socket; the name should change with
	// everything that makes two sidecars differ (binary, flags, build).
	Socket string
	// IdleExit is how long the sidecar outlives its last client.
	IdleExit time.Duration
	// LogFile receives the sidecar's log (appended). Not the launcher's
	// stderr: under Kong that is a pipe to the nginx worker that started
	// the plugin server, which closes when that worker exits, while the
	// sidecar lives on.
	LogFile string
}

// exitSocketTaken is modelgate-sidecar's exit status when another sidecar
// holds the socket's lock (serving, or loading its models to serve).
const exitSocketTaken = 3

// LaunchShared attaches to the sidecar on cfg.Socket, launching it first
// when none answers there. Two plugin servers calling it at once launch at
// most one sidecar that loads models: the other exits at once
// (exitSocketTaken) and both attach to the one that serves. It returns once
// attached, or when ctx ends (the launched sidecar then goes on loading, and
// the next call attaches to it).
func LaunchShared(ctx context.Context, cfg SharedConfig) (*Client, error) {
	if c, err := attachOnce(ctx, cfg); err == nil || !errors.Is(err, errNoSidecar) {
		return c, err
	}
	l := cfg.Launch
	if l.Command == "" {
		return nil, errors.New("launching sidecar: no command")
	}
	if err := os.MkdirAll(filepath.Dir(cfg.LogFile), 0o750); err != nil {
		return nil, fmt.Errorf("launching sidecar: %w", err)
	}
	logFile, err := os.OpenFile(cfg.LogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("launching sidecar: its log file: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor
	logStart, _ := logFile.Seek(0, io.SeekEnd)
	args := append(append([]string(nil), l.Args...),
		"--socket", cfg.Socket, "--idle-exit", cfg.IdleExit.String(), "--beside-gateway")
	start := func() (chan error, error) {
		cmd := exec.Command(l.Command, args...)
		cmd.Env = launchEnv(os.Environ(), l.PassEnv, l.Env)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		// Its own process group: a Ctrl+C meant for the plugin server's
		// terminal, or a signal to the launcher's group, must not reach a
		// sidecar that other plugin servers use.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("launching sidecar %s: %w", l.Command, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		return exited, nil
	}
	exited, err := start()
	if err != nil {
		return nil, err
	}
	var relaunchAt time.Time
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			exited = nil // a nil channel: this case never fires again
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() == exitSocketTaken {
				// Another sidecar holds the lock: one that is loading (attach
				// to it once it serves) or one that is exiting (idle, or
				// stopped) and has removed its socket already. Try again in
				// a while: the second kind would otherwise leave no sidecar.
				relaunchAt = time.Now().Add(relaunchAfterTaken)
				continue
			}
			return nil, launchFailed(l.Command, cfg.LogFile, logStart, err)
		case <-ctx.Done():
			return nil, fmt.Errorf("launching sidecar %s on %s: %w (it goes on starting; its log: %s)", l.Command, cfg.Socket, ctx.Err(), cfg.LogFile)
		case <-tick.C:
		}
		c, err := attachOnce(ctx, cfg)
		if err == nil || !errors.Is(err, errNoSidecar) {
			return c, err
		}
		if exited == nil && !relaunchAt.IsZero() && time.Now().After(relaunchAt) {
			if exited, err = start(); err != nil {
				return nil, err
			}
			relaunchAt = time.Time{}
		}
	}
}

// relaunchAfterTaken is how long a launcher whose sidecar found the lock
// taken waits for the lock holder's socket before it launches again.
const relaunchAfterTaken = time.Second

// errNoSidecar: nothing answers on the socket (yet).
var errNoSidecar = errors.New("no sidecar answers on the socket")

// attachOnce attaches if a sidecar answers on the socket. A sidecar that
// answers but refuses (another build) is an error of its own, not
// errNoSidecar: launching another would only fail on its lock.
func attachOnce(ctx context.Context, cfg SharedConfig) (*Client, error) {
	if _, err := os.Stat(cfg.Socket); err != nil {
		return nil, errNoSidecar
	}
	actx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := Attach(actx, cfg.Socket, cfg.Launch.MaxMessageBytes)
	if err == nil {
		return c, nil
	}
	if errors.Is(err, errBuildMismatch) {
		return nil, err
	}
	return nil, errors.Join(errNoSidecar, err)
}

// launchFailed quotes the last error line the sidecar logged since it was
// started (it says why: a missing models folder, no ONNX Runtime).
func launchFailed(command, logFile string, from int64, err error) error {
	f, oerr := os.Open(logFile)
	if oerr == nil {
		defer f.Close()
		if _, serr := f.Seek(from, io.SeekStart); serr == nil {
			var last string
			sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
			for sc.Scan() {
				if line := sc.Bytes(); bytes.Contains(line, []byte(`"level":"ERROR"`)) {
					last = string(line)
				}
			}
			if last != "" {
				return fmt.Errorf("launching sidecar %s: it exited (%v) saying %s", command, err, last)
			}
		}
	}
	return fmt.Errorf("launching sidecar %s: it exited (%v); its log: %s", command, err, logFile)
}
