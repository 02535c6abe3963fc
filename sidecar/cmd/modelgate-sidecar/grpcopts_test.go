package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/modelgate/modelgate/internal/testutil"
)

// TestMoreStreamsThanWorkers sends more requests at once than the server
// keeps stream workers, over the real socket: the ones past the pool get
// goroutines of their own, and every one is answered right.
func TestMoreStreamsThanWorkers(t *testing.T) {
	s := startSidecar(t, "max_batch_size: 8\ndynamic_batching: {}\n", "")
	c := s.attach(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const requests = 2*streamWorkers + 8
	var wg sync.WaitGroup
	errs := make(chan error, requests)
	for range requests {
		wg.Go(func() {
			res, err := c.ModelInfer(ctx, adderRequest())
			if err != nil {
				errs <- err
				return
			}
			if got := testutil.Float32s(res.Outputs[0].Raw); len(got) != 4 || got[0] != 2 || got[3] != 5 {
				t.Errorf("sum %v, want [2 3 4 5]", got)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
