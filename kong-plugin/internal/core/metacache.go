package core

import (
	"context"
	"sync"
	"time"

	"github.com/modelgate/modelgate/shared/pb"
)

// metaTTL bounds how stale cached metadata may be: a new version loaded
// into the sidecar is seen within this time.
const metaTTL = 5 * time.Second

// metaCache keeps model metadata (inputs, batch size, labels) per model
// version, so that the predict API and quota item counting do not cost a
// second RPC per request.
type metaCache struct {
	mu      sync.Mutex
	entries map[[2]string]metaEntry
}

type metaEntry struct {
	meta    *pb.ModelMetadataResponse
	expires time.Time
}

func newMetaCache() *metaCache { return &metaCache{entries: map[[2]string]metaEntry{}} }

func (g *Gateway) metadata(ctx context.Context, model, version string) (*pb.ModelMetadataResponse, error) {
	key := [2]string{model, version}
	now := time.Now()
	g.meta.mu.Lock()
	e, ok := g.meta.entries[key]
	g.meta.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.meta, nil
	}
	var res *pb.ModelMetadataResponse
	err := g.call(ctx, "ModelMetadata", func(c pb.InferenceClient) error {
		var err error
		res, err = c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: model, Version: version})
		return err
	})
	if err != nil {
		return nil, err
	}
	g.meta.mu.Lock()
	if len(g.meta.entries) > 4096 {
		// Names come from clients' URLs; never let them grow the cache unbounded.
		clear(g.meta.entries)
	}
	g.meta.entries[key] = metaEntry{meta: res, expires: now.Add(metaTTL)}
	g.meta.mu.Unlock()
	return res, nil
}
