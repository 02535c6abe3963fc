package gateway

import (
	"context"
	"errors"

	"github.com/modelgate/modelgate/kong-plugin/internal/config"
)

// connector returns how to reach the sidecar of a config section.
func connector(c config.Sidecar) connectFunc {
	return func(ctx context.Context) (sidecarConn, error) {
		return nil, errors.New("sidecar client not built yet")
	}
}
