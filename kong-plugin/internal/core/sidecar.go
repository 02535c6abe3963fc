package core

import (
	"context"
	"log/slog"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/shared"
	"github.com/modelgate/modelgate/shared/pb"
)

// stopTimeout bounds the drain of a launched sidecar the supervisor gives
// up on; longer would hold back its replacement.
const stopTimeout = 5 * time.Second

// connector returns how to reach the sidecar of a config section: launch
// the binary through go-plugin, or attach to its socket.
func connector(c config.Sidecar) connectFunc {
	if c.Mode == "attach" {
		return func(ctx context.Context) (sidecarConn, error) {
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

// clientConn adapts *shared.Client to sidecarConn.
type clientConn struct{ c *shared.Client }

func (c clientConn) Inference() pb.InferenceClient { return c.c.InferenceClient }
func (c clientConn) Exited() bool                  { return c.c.Exited() }
func (c clientConn) Close()                        { _ = c.c.Close() }
