package gateway

import (
	"context"
	"net/http"
	"testing"
)

// BenchmarkHandleInfer is the whole core path (auth, quota, routing, JSON
// both ways, one sidecar call); BenchmarkSidecarInfer the sidecar call
// alone, for the difference.
func BenchmarkHandleInfer(b *testing.B) {
	g := startGatewayB(b)
	h := http.Header{"Apikey": {keyBob}, "Content-Type": {"application/json"}}
	req := Request{Method: "POST", Path: "/v2/models/adder/versions/1/infer", Header: h, Body: []byte(adderBody)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res := g.Handle(context.Background(), req); res.Status != http.StatusOK {
			b.Fatalf("%d %s", res.Status, res.Body)
		}
	}
}

func BenchmarkSidecarInfer(b *testing.B) {
	g := startGatewayB(b)
	r, err := decodeInfer([]byte(adderBody), 0)
	if err != nil {
		b.Fatal(err)
	}
	r.ModelName, r.ModelVersion = "adder", "1"
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
