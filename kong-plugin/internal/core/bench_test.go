package core

import (
	"context"
	"encoding/binary"
	"math"
	"net/http"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/apis"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/shared/pb"
)

// BenchmarkHandleInfer is the whole core path (auth, quota, routing, JSON
// both ways, one sidecar call); BenchmarkSidecarInfer the sidecar call
// alone, for the difference.
func BenchmarkHandleInfer(b *testing.B) {
	g := startGatewayB(b)
	h := http.Header{"Apikey": {keyBob}, "Content-Type": {"application/json"}}
	req := protocol.Request{Method: "POST", Path: "/v2/models/adder/versions/1/infer", Header: h, Body: []byte(adderBody)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res := g.Handle(context.Background(), apis.Router, req); res.Status != http.StatusOK {
			b.Fatalf("%d %s", res.Status, res.Body)
		}
	}
}

func BenchmarkSidecarInfer(b *testing.B) {
	g := startGatewayB(b)
	// adderBody as the OIP codec decodes it.
	fp32 := func(vs ...float32) []byte {
		var raw []byte
		for _, v := range vs {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
		}
		return raw
	}
	r := &pb.ModelInferRequest{ModelName: "adder", ModelVersion: "1", Outputs: []string{"sum"}, Inputs: []*pb.InferTensor{
		{Name: "a", Datatype: "FP32", Shape: []int64{1, 4}, Raw: fp32(1, 2, 3, 4)},
		{Name: "b", Datatype: "FP32", Shape: []int64{1, 4}, Raw: fp32(10, 20, 30, 40)},
	}}
	c, cerr := g.sidecar.client(context.Background())
	if cerr != nil {
		b.Fatal(cerr)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.ModelInfer(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}

func startGatewayB(b *testing.B) *Gateway {
	b.Helper()
	return startGateway(b, adderConfig(b))
}
