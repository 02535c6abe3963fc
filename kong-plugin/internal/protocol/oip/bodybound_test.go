package oip

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol/jsontensor"
	"github.com/modelgate/modelgate/shared/tensor"
)

// allocatedPerRun is the average of the bytes fn allocates (TotalAlloc
// counts every allocation, freed or not), over runs calls.
func allocatedPerRun(runs int, fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < runs; i++ {
		fn()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// TestDeclaredShapeAllocatesForBytesPresent: a 90-byte body that declares
// 16M elements is refused without allocating for them (issue 12, item 1:
// before, BYTES reserved 384 MiB and INT64/FP64 128 MiB per request).
func TestDeclaredShapeAllocatesForBytesPresent(t *testing.T) {
	const declared = 1 << 24
	for _, tt := range []struct {
		dt   tensor.DataType
		data string
	}{
		{tensor.Bytes, `[""]`}, {tensor.Int64, `[1]`}, {tensor.FP64, `[1]`}, {tensor.Bool, `[true,true]`},
	} {
		body := []byte(fmt.Sprintf(`{"inputs":[{"name":"x","shape":[%d],"datatype":"%s","data":%s}]}`, declared, tt.dt, tt.data))
		if len(body) > 100 {
			t.Fatalf("body of %d bytes, want a small one", len(body))
		}
		var gerr *protocol.Error
		per := allocatedPerRun(10, func() { _, gerr = decodeInfer(body, declared) })
		if gerr == nil || gerr.Kind != protocol.KindBadRequest || !strings.Contains(gerr.Message, "hold at most") {
			t.Errorf("%s: %v, want a 400 saying the data cannot hold the shape", tt.dt, gerr)
		}
		if per > 1<<20 {
			t.Errorf("%s: decoding a %d-byte body allocated %d bytes", tt.dt, len(body), per)
		}
		var err error
		per = allocatedPerRun(10, func() { _, err = jsontensor.ParseData(tt.dt, []byte(tt.data), declared) })
		if !errors.Is(err, tensor.ErrShape) || per > 1<<20 {
			t.Errorf("%s: parseData allocated %d bytes, err %v", tt.dt, per, err)
		}
	}
}
