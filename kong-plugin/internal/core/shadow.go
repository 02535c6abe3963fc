package core

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
)

// Shadow results, the values of the shadow metric's result label.
const (
	shadowAgree    = "agree"
	shadowDisagree = "disagree"
	shadowError    = "error"
	shadowDropped  = "dropped"
)

// maybeShadow sends a sample of the answers of the model's shadow source
// (every version's when it has none) to its shadow version. It runs after
// the client's answer is decided and in its own goroutine, with its own
// deadline, so it can change neither the answer nor its latency; when
// maxShadowInFlight calls are already running the sample is dropped and
// counted as such. The metric's from and to labels keep each pair of
// versions apart: v2 -> v3 agreement is never mixed with v1 -> v3.
func (g *Gateway) maybeShadow(m *modelRouting, req *pb.ModelInferRequest, primary *pb.ModelInferResponse) {
	from := primary.GetModelVersion()
	if m.shadowPercent <= 0 || m.shadowVersion == from || m.shadowVersion == req.ModelVersion {
		return
	}
	if m.shadowSource != "" && m.shadowSource != from {
		return
	}
	g.shadowRandMu.Lock()
	sampled := g.shadowRand.Float64()*100 < m.shadowPercent
	g.shadowRandMu.Unlock()
	if !sampled {
		return
	}
	counter := func(result string) prometheus.Counter {
		return g.metrics.shadow.WithLabelValues(req.ModelName, from, m.shadowVersion, result)
	}
	select {
	case g.shadowSlots <- struct{}{}:
	default:
		counter(shadowDropped).Inc()
		return
	}
	// The inputs are shared read-only: the primary call is done with them.
	sreq := &pb.ModelInferRequest{ModelName: req.ModelName, ModelVersion: m.shadowVersion, Id: req.Id, Inputs: req.Inputs, Outputs: req.Outputs}
	go func() {
		defer func() {
			<-g.shadowSlots
			if p := recover(); p != nil {
				g.metrics.panics.Inc()
				g.log.Error("panic in shadow call", "panic", p)
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
		defer cancel()
		var res *pb.ModelInferResponse
		err := g.call(ctx, "ModelInfer", func(c pb.InferenceClient) error {
			var err error
			res, err = c.ModelInfer(ctx, sreq)
			return err
		})
		result := shadowError
		if err == nil {
			result = shadowDisagree
			if agree(primary, res) {
				result = shadowAgree
			}
		} else {
			g.log.Warn("shadow call failed", "model", req.ModelName, "version", m.shadowVersion, "err", err)
		}
		counter(result).Inc()
	}()
}

// agree compares two answers: a classifier's labels must match exactly;
// otherwise every output the two share must have the same shape and type,
// and equal elements (floats within a relative 1e-3, since two versions of a
// model rarely agree to the last bit).
func agree(a, b *pb.ModelInferResponse) bool {
	bs := map[string]*pb.InferTensor{}
	for _, t := range b.GetOutputs() {
		bs[t.GetName()] = t
	}
	for _, t := range a.GetOutputs() {
		if t.GetName() == "label" {
			if o, ok := bs["label"]; ok {
				return bytes.Equal(t.GetRaw(), o.GetRaw())
			}
		}
	}
	shared := 0
	for _, t := range a.GetOutputs() {
		o, ok := bs[t.GetName()]
		if !ok {
			continue
		}
		shared++
		if t.GetDatatype() != o.GetDatatype() || !slices.Equal(t.GetShape(), o.GetShape()) {
			return false
		}
		if !closeRaw(tensor.DataType(t.GetDatatype()), t.GetRaw(), o.GetRaw()) {
			return false
		}
	}
	return shared > 0
}

func closeRaw(dt tensor.DataType, a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	le := binary.LittleEndian
	near := func(x, y float64) bool {
		return x == y || math.Abs(x-y) <= 1e-3*math.Max(math.Abs(x), math.Abs(y))
	}
	switch dt {
	case tensor.FP32:
		for i := 0; i < len(a); i += 4 {
			if !near(float64(math.Float32frombits(le.Uint32(a[i:]))), float64(math.Float32frombits(le.Uint32(b[i:])))) {
				return false
			}
		}
		return true
	case tensor.FP64:
		for i := 0; i < len(a); i += 8 {
			if !near(math.Float64frombits(le.Uint64(a[i:])), math.Float64frombits(le.Uint64(b[i:]))) {
				return false
			}
		}
		return true
	case tensor.FP16:
		for i := 0; i < len(a); i += 2 {
			if !near(float64(tensor.HalfToFloat32(le.Uint16(a[i:]))), float64(tensor.HalfToFloat32(le.Uint16(b[i:])))) {
				return false
			}
		}
		return true
	}
	return bytes.Equal(a, b)
}
