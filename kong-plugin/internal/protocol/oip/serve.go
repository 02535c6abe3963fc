package oip

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
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
		return protocol.JSONResponse(http.StatusOK, serverMetadata, nil), nil
	case epRepositoryIndex:
		return repositoryIndex(ctx, ex, req)
	case epModelMetadata:
		return r.modelMetadata(ctx, ex)
	case epModelReady:
		return r.modelReady(ctx, ex)
	}
	c := &codec{header: req.Header, body: req.Body, answerHeaderLen: -1}
	body, err := ex.Infer(ctx, protocol.InferRequest{Model: r.model, Version: r.version, BodySize: len(req.Body), Codec: c})
	if err != nil {
		return protocol.Response{}, err
	}
	res := protocol.JSONResponse(http.StatusOK, body, ex.Header())
	if c.answerHeaderLen >= 0 {
		res.Header.Set("Content-Type", octetStream)
		res.Header.Set(headerContentLength, strconv.Itoa(c.answerHeaderLen))
	}
	// Triton compresses infer answers only; Inference-Header-Content-Length
	// counts the JSON before compression.
	res.Header["Vary"] = []string{"Accept-Encoding"}
	if enc := protocol.AcceptedEncoding(req.Header.Get("Accept-Encoding")); enc != "" {
		z, err := protocol.Compress(enc, res.Body)
		if err != nil {
			return protocol.Response{}, protocol.Wrap(protocol.KindInternal, "internal error", err)
		}
		res.Body = z
		res.Header.Set("Content-Encoding", enc)
	}
	return res, nil
}

// serverMetadata is the answer to GET /v2: the Triton extensions modelgate
// speaks, named as Triton names them.
var serverMetadata = []byte(`{"name":"` + serverName + `","version":"` + protocol.Version +
	`","extensions":["binary_tensor_data","classification"]}`)

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

// codec is an inference body in the protocol's JSON form, with or without
// binary tensor data.
type codec struct {
	header  http.Header
	body    []byte
	checked *checkedInfer
	// answerHeaderLen is the answer's JSON length when it carries binary
	// data, else -1.
	answerHeaderLen int
}

// Admit inflates a compressed body (Content-Encoding gzip or deflate) and
// takes JSON, and application/octet-stream, which Triton's client may send
// with binary tensor data.
func (c *codec) Admit(maxBody int) *protocol.Error {
	body, err := protocol.Inflate(c.header, c.body, maxBody)
	if err != nil {
		return err
	}
	c.body = body
	if mt, _, _ := strings.Cut(c.header.Get("Content-Type"), ";"); strings.EqualFold(strings.TrimSpace(mt), octetStream) {
		return jsontensor.Admit(nil, c.body)
	}
	return jsontensor.Admit(c.header, c.body)
}

func (c *codec) Check(maxElements int64) (time.Duration, *protocol.Error) {
	headerLen, herr := jsonHeaderLength(c.header, c.body)
	if herr != nil {
		return 0, herr
	}
	checked, err := checkSplitInfer(c.body, headerLen, maxElements)
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

func (c *codec) Decode(meta *pb.ModelMetadataResponse) (*pb.ModelInferRequest, *protocol.Error) {
	if err := c.checked.checkClassification(meta); err != nil {
		return nil, protocol.Wrap(protocol.KindBadRequest, err.Error(), err)
	}
	return c.checked.decode()
}

func (c *codec) Encode(meta *pb.ModelMetadataResponse, res *pb.ModelInferResponse, _ int) ([]byte, error) {
	body, headerLen, err := encodeResponse(res, c.checked.forms(meta))
	c.answerHeaderLen = headerLen
	return body, err
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

// indexEntryJSON is one entry of Triton's repository index (name, version,
// state, reason: Triton's http_server.cc), plus where the loaded version's
// files came from, which Triton's clients ignore. The registry's address is
// not in it: the sidecar logs it.
type indexEntryJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	State   string `json:"state"`
	Reason  string `json:"reason"`
	Digest  string `json:"digest,omitempty"`
	Source  string `json:"source,omitempty"`
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
