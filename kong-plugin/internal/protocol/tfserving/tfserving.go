// Package tfserving is TF Serving's REST predict API (the row format of
// tensorflow_serving's RESTful API doc): POST
// /v1/models/{m}[/versions/{v}|/labels/{alias}]:predict with
// {"instances": [...]} or modelgate's {"text": "..."}, answered with
// {"predictions": [...]}. It decodes into the core (protocol.Exchange) and
// encodes from it; it decides nothing.
package tfserving

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol/jsontensor"
	"github.com/modelgate/modelgate/shared/pb"
)

// Protocol is TF Serving's entry in a protocol.Router.
type Protocol struct{}

// API is the segment the protocol's paths start with.
func (Protocol) API() string { return "v1" }

// route is a parsed :predict path; it is the protocol.Endpoint that serves it.
type route struct {
	model string
	// version is an explicit version from the path; alias one from /labels/{alias}.
	version string
	alias   string
}

// Route matches TF Serving's predict: /v1/models/{m}[/versions/{v}|/labels/{a}]:predict.
func (Protocol) Route(method, path, rest string) (protocol.Endpoint, *protocol.Error) {
	r, err := parse(protocol.Segments(rest))
	if err != nil {
		return nil, err
	}
	if err := protocol.CheckMethod(path, method, http.MethodPost); err != nil {
		return nil, err
	}
	return r, nil
}

func parse(segs []string) (route, *protocol.Error) {
	if len(segs) < 2 || segs[0] != "models" {
		return route{}, protocol.NotFound(segs)
	}
	last := segs[len(segs)-1]
	name, verb, ok := strings.Cut(last, ":")
	if !ok || verb != "predict" {
		return route{}, protocol.NotFound(segs)
	}
	segs = append(append([]string{}, segs[:len(segs)-1]...), name)
	r := route{model: segs[1]}
	if err := protocol.CheckName("model", r.model); err != nil {
		return route{}, err
	}
	switch {
	case len(segs) == 2:
	case len(segs) == 4 && segs[2] == "versions":
		r.version = segs[3]
		if err := protocol.CheckName("version", r.version); err != nil {
			return route{}, err
		}
	case len(segs) == 4 && segs[2] == "labels":
		r.alias = segs[3]
		if err := protocol.CheckName("label", r.alias); err != nil {
			return route{}, err
		}
	default:
		return route{}, protocol.NotFound(segs)
	}
	return r, nil
}

// Model is the model the path names.
func (r route) Model() string { return r.model }

// Public is false: predict always wants credentials (when any are configured).
func (route) Public() bool { return false }

// Serve runs the prediction.
func (r route) Serve(ctx context.Context, ex protocol.Exchange, req *protocol.Request) (protocol.Response, error) {
	body, err := ex.Infer(ctx, protocol.InferRequest{Model: r.model, Version: r.version, Alias: r.alias,
		BodySize: len(req.Body), Codec: &codec{header: req.Header, body: req.Body}})
	if err != nil {
		return protocol.Response{}, err
	}
	return protocol.JSONResponse(http.StatusOK, body, ex.Header()), nil
}

// codec is a predict body: its instances stay raw JSON until Decode.
type codec struct {
	header      http.Header
	body        []byte
	instances   []json.RawMessage
	maxElements int64
}

// Admit inflates a compressed body, as the Open Inference Protocol does,
// and checks that it may be JSON.
func (c *codec) Admit(maxBody int) *protocol.Error {
	body, err := protocol.Inflate(c.header, c.body, maxBody)
	if err != nil {
		return err
	}
	c.body = body
	return jsontensor.Admit(c.header, c.body)
}

// Check parses the body into its instances; predict has no timeout
// parameter. Each instance's shape is checked when it is decoded.
func (c *codec) Check(maxElements int64) (time.Duration, *protocol.Error) {
	instances, err := decodePredict(c.body)
	if err != nil {
		return 0, err
	}
	c.instances, c.maxElements = instances, maxElements
	return 0, nil
}

func (c *codec) Items(meta *pb.ModelMetadataResponse) (int, *protocol.Error) {
	if err := checkPredictCount(meta, c.instances); err != nil {
		return 0, err
	}
	if meta.GetMaxBatchSize() <= 0 {
		return unbatchedItems(meta, c.instances[0]), nil
	}
	return len(c.instances), nil
}

func (c *codec) Decode(meta *pb.ModelMetadataResponse) (*pb.ModelInferRequest, *protocol.Error) {
	return buildPredict(meta, c.instances, c.maxElements)
}

func (c *codec) Encode(meta *pb.ModelMetadataResponse, res *pb.ModelInferResponse, items int) ([]byte, error) {
	return encodePredict(meta, res, items)
}
