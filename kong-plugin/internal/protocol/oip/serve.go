package oip

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol/jsontensor"
	"github.com/modelgate/modelgate/shared/pb"
)

// serverName is what server metadata calls the server.
const serverName = "modelgate"

// Serve answers the request the path asked for.
func (r route) Serve(ctx context.Context, ex protocol.Exchange, req *protocol.Request) (protocol.Response, error) {
	switch r.endpoint {
	case epHealthLive:
		return health(ctx, ex, false), nil
	case epHealthReady:
		return health(ctx, ex, true), nil
	case epServerMetadata:
		return protocol.JSONResponse(http.StatusOK, []byte(`{"name":"`+serverName+`","version":"`+protocol.Version+`","extensions":[]}`), nil), nil
	case epRepositoryIndex:
		return repositoryIndex(ctx, ex, req)
	case epModelMetadata:
		return r.modelMetadata(ctx, ex)
	case epModelReady:
		return r.modelReady(ctx, ex)
	}
	body, err := ex.Infer(ctx, protocol.InferRequest{Model: r.model, Version: r.version, BodySize: len(req.Body),
		Codec: &codec{header: req.Header, body: req.Body}})
	if err != nil {
		return protocol.Response{}, err
	}
	return protocol.JSONResponse(http.StatusOK, body, ex.Header()), nil
}

func health(ctx context.Context, ex protocol.Exchange, ready bool) protocol.Response {
	field := "live"
	if ready {
		field = "ready"
	}
	if !ex.Health(ctx, ready) {
		h := protocol.RetryAfter(1)
		h.Set("Content-Type", "application/json")
		return protocol.Response{Status: http.StatusServiceUnavailable, Header: h, Body: []byte(`{"` + field + `":false}`)}
	}
	return protocol.JSONResponse(http.StatusOK, []byte(`{"`+field+`":true}`), nil)
}

// codec is an inference body in the protocol's JSON form.
type codec struct {
	header  http.Header
	body    []byte
	checked *checkedInfer
}

func (c *codec) Admit() *protocol.Error { return jsontensor.Admit(c.header, c.body) }

func (c *codec) Check(maxElements int64) (time.Duration, *protocol.Error) {
	checked, err := checkInfer(c.body, maxElements)
	if err != nil {
		return 0, err
	}
	c.checked = checked
	return checked.timeout, nil
}

func (c *codec) Items(meta *pb.ModelMetadataResponse) (int, *protocol.Error) {
	items := c.checked.batchItems(meta)
	// Before quota: a batch the sidecar would refuse must not be charged.
	if maxBatch := int(meta.GetMaxBatchSize()); maxBatch > 0 && items > maxBatch {
		return 0, protocol.Errorf(protocol.KindBadRequest, "a batch of %d is over model %s's max_batch_size %d", items, meta.GetName(), maxBatch)
	}
	return items, nil
}

func (c *codec) Decode(*pb.ModelMetadataResponse) (*pb.ModelInferRequest, *protocol.Error) {
	return c.checked.decode()
}

func (c *codec) Encode(_ *pb.ModelMetadataResponse, res *pb.ModelInferResponse, _ int) ([]byte, error) {
	return encodeInfer(res)
}

// modelMetadata serves GET /v2/models/{m}[/versions/{v}].
func (r route) modelMetadata(ctx context.Context, ex protocol.Exchange) (protocol.Response, error) {
	res, err := ex.ModelMetadata(ctx, r.model, r.version)
	if err != nil {
		return protocol.Response{}, err
	}
	body, _ := json.Marshal(metadataJSON(res))
	return protocol.JSONResponse(http.StatusOK, body, ex.Header()), nil
}

type tensorMetaJSON struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

type modelMetaJSON struct {
	Name     string           `json:"name"`
	Versions []string         `json:"versions"`
	Platform string           `json:"platform"`
	Inputs   []tensorMetaJSON `json:"inputs"`
	Outputs  []tensorMetaJSON `json:"outputs"`
	// The rest are modelgate's additions to the OIP answer.
	Version      string   `json:"version,omitempty"`
	MaxBatchSize int32    `json:"max_batch_size"`
	Labels       []string `json:"labels,omitempty"`
}

func metadataJSON(r *pb.ModelMetadataResponse) modelMetaJSON {
	conv := func(ts []*pb.TensorMetadata) []tensorMetaJSON {
		out := make([]tensorMetaJSON, 0, len(ts))
		for _, t := range ts {
			out = append(out, tensorMetaJSON{Name: t.GetName(), Datatype: t.GetDatatype(), Shape: t.GetShape()})
		}
		return out
	}
	versions := r.GetVersions()
	if versions == nil {
		versions = []string{}
	}
	return modelMetaJSON{
		Name: r.GetName(), Versions: versions, Platform: r.GetPlatform(),
		Inputs: conv(r.GetInputs()), Outputs: conv(r.GetOutputs()),
		Version: r.GetVersion(), MaxBatchSize: r.GetMaxBatchSize(), Labels: r.GetLabels(),
	}
}

// modelReady serves GET /v2/models/{m}[/versions/{v}]/ready: 200 when
// ready, else 503 with {"ready": false}.
func (r route) modelReady(ctx context.Context, ex protocol.Exchange) (protocol.Response, error) {
	ready, err := ex.ModelReady(ctx, r.model, r.version)
	if err != nil {
		return protocol.Response{}, err
	}
	if !ready {
		return protocol.JSONResponse(http.StatusServiceUnavailable, []byte(`{"ready":false}`), ex.Header()), nil
	}
	return protocol.JSONResponse(http.StatusOK, []byte(`{"ready":true}`), ex.Header()), nil
}

type indexEntryJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	State   string `json:"state"`
	Reason  string `json:"reason"`
}

// repositoryIndex serves Triton's POST /v2/repository/index, listing only
// the models the consumer may use. Body: optional {"ready": true}.
func repositoryIndex(ctx context.Context, ex protocol.Exchange, req *protocol.Request) (protocol.Response, error) {
	var body struct {
		Ready bool `json:"ready"`
	}
	if len(req.Body) > 0 {
		if err := json.Unmarshal(req.Body, &body); err != nil {
			return protocol.Response{}, jsontensor.Malformed(err)
		}
	}
	entries, err := ex.RepositoryIndex(ctx, body.Ready)
	if err != nil {
		return protocol.Response{}, err
	}
	out := make([]indexEntryJSON, 0, len(entries))
	for _, e := range entries {
		out = append(out, indexEntryJSON(e))
	}
	b, _ := json.Marshal(out)
	return protocol.JSONResponse(http.StatusOK, b, ex.Header()), nil
}
