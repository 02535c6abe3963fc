package core

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/modelgate/modelgate/internal/version"
	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/trust"
	"github.com/modelgate/modelgate/shared"
	"github.com/modelgate/modelgate/shared/pb"
)

// stopTimeout bounds the drain of a launched sidecar the supervisor gives
// up on; longer would hold back its replacement.
const stopTimeout = 5 * time.Second

// sharedIdleExit is how long a shared sidecar outlives its last plugin
// server: long enough for `kong restart` to find it again, short enough
// not to hold the models (and GPU memory) long after `kong stop`.
const sharedIdleExit = 30 * time.Second

// connector returns how to reach the sidecar of a config section: attach to
// its socket; or in launch mode, under Kong (kongPrefix set), attach to the
// sidecar shared on a well-known socket in the prefix, launching it if none
// answers; else launch the binary through go-plugin as a child. policy is
// the operator's, as the config was validated under.
func connector(c config.Sidecar, kongPrefix string, policy trust.Policy) connectFunc {
	var passEnv []string
	if c.Mode == "launch" {
		// Validation already refused a command the operator did not allow;
		// this turns the default name into the binary next to ours.
		command, err := policy.SidecarCommand(c.Command)
		if err != nil {
			return func(context.Context) (sidecarConn, error) { return nil, fmt.Errorf("sidecar.command: %w", err) }
		}
		c.Command = command
		passEnv = policy.SidecarPassEnv
	}
	if c.Mode == "launch" && kongPrefix != "" {
		cfg := shared.SharedConfig{
			Launch: shared.LaunchConfig{
				Command: c.Command, Args: c.Args, Env: c.Env, PassEnv: passEnv, MaxMessageBytes: c.MaxMessageBytes,
			},
			Socket:   sharedSocket(kongPrefix, c),
			IdleExit: sharedIdleExit,
			LogFile:  filepath.Join(kongPrefix, "logs", "modelgate-sidecar.log"),
		}
		return func(ctx context.Context) (sidecarConn, error) {
			cl, err := shared.LaunchShared(ctx, cfg)
			if err != nil {
				return nil, err
			}
			return clientConn{cl}, nil
		}
	}
	if c.Mode == "attach" {
		return func(ctx context.Context) (sidecarConn, error) {
			// Validation checked the socket's path; a link along it may
			// have been re-pointed since, so every (re)attach checks again.
			if err := policy.CheckSocket(c.Socket); err != nil {
				return nil, fmt.Errorf("sidecar.socket: %w", err)
			}
			cl, err := shared.Attach(ctx, c.Socket, c.MaxMessageBytes)
			if err != nil {
				return nil, err
			}
			return clientConn{cl}, nil
		}
	}
	return func(ctx context.Context) (sidecarConn, error) {
		cl, err := shared.Launch(ctx, shared.LaunchConfig{
			Command:         c.Command,
			Args:            c.Args,
			Env:             c.Env,
			PassEnv:         passEnv,
			MaxMessageBytes: c.MaxMessageBytes,
			StopTimeout:     stopTimeout,
			Logger:          slog.Default().With("component", "sidecar"),
		})
		if err != nil {
			return nil, err
		}
		return clientConn{cl}, nil
	}
}

// sharedSocket is the well-known socket of a launch-mode sidecar section
// under Kong's prefix. Its name hashes everything that makes one launched
// sidecar differ from another (this build, the binary, its flags and
// environment), so that plugin servers attach only to a sidecar they would
// have launched themselves, and a new build never meets an old sidecar.
func sharedSocket(kongPrefix string, c config.Sidecar) string {
	key := config.Key(struct {
		Build   string
		Command string
		Args    []string
		Env     []string
	}{version.Build(), c.Command, c.Args, c.Env})
	return filepath.Join(kongPrefix, "modelgate-sidecar-"+key[:16]+".sock")
}

// clientConn adapts *shared.Client to sidecarConn.
type clientConn struct{ c *shared.Client }

func (c clientConn) Inference() pb.InferenceClient { return c.c.InferenceClient }
func (c clientConn) Exited() bool                  { return c.c.Exited() }
func (c clientConn) Close()                        { _ = c.c.Close() }
