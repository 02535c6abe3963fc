package bench

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/modelgate/modelgate/bench/load"
	"github.com/modelgate/modelgate/kong-plugin/kongharness"
)

// KongInferFunc returns a load function that runs Kong's access phase of
// plugin instance id for one Open Inference Protocol request of batch rows
// to path (/v2/models/NAME/infer), with header (the API key) on every
// request: one connection per event, as Kong does. An answer other than a
// 200 exit is a failure of kind http_<status>.
func KongInferFunc(srv *kongharness.Server, id int32, path string, header http.Header, m Model, batch int, seed uint64) load.Func {
	rng := rand.New(rand.NewPCG(seed, 13))
	bodies := make([][]byte, 16)
	for i := range bodies {
		bodies[i] = m.InferBody(rng, batch)
	}
	return KongBodiesFunc(srv, id, path, header, bodies, batch)
}

// KongBodiesFunc is KongInferFunc for given request bodies, each of items items.
func KongBodiesFunc(srv *kongharness.Server, id int32, path string, header http.Header, bodies [][]byte, items int) load.Func {
	hdr := header.Clone()
	hdr.Set("Content-Type", "application/json")
	var next atomic.Uint64
	return func(ctx context.Context) (int, error) {
		body := bodies[next.Add(1)%uint64(len(bodies))]
		res, err := srv.Access(ctx, id, kongharness.Request{Method: http.MethodPost, Path: path, Header: hdr, Body: body, ClientIP: "127.0.0.1"})
		if err != nil {
			return 0, err
		}
		if !res.Exited || res.Status != http.StatusOK {
			return 0, &load.StatusError{Status: res.Status, Body: string(res.Body)}
		}
		if !bytes.Contains(res.Body, []byte(`"outputs"`)) {
			return 0, fmt.Errorf("answer without outputs: %.200s", res.Body)
		}
		return items, nil
	}
}

// WaitKongReady runs GET /v2/health/ready through instance id until it
// answers 200 (the launched sidecar has loaded its models), at most
// timeout; a config the plugin refuses ends the wait at once with its error.
func WaitKongReady(ctx context.Context, srv *kongharness.Server, id int32, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return srv.WaitReady(ctx, id)
}
