package gateway

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/modelgate/modelgate/shared/pb"
)

// infer serves POST .../infer (Open Inference Protocol) and :predict (TF
// Serving style): authorize, check the body, pick the version, check the
// body's structure, shapes and sizes, take the request's quota, decode the
// data, one ModelInfer, answer, then maybe shadow. Nothing is allocated for
// the data before its quota is taken, and then only for the bytes present.
func (ex *exchange) infer(ctx context.Context) (Response, error) {
	m := ex.g.routing.model(ex.route.model)
	if err := ex.authorize(m); err != nil {
		return Response{}, err
	}
	if err := ex.checkBody(); err != nil {
		return Response{}, err
	}
	stickyKey := ex.identity.Consumer
	if stickyKey == "" {
		stickyKey = ex.req.ClientIP
	}
	version, _, rerr := m.resolve(ex.route, ex.identity.Consumer, stickyKey)
	if rerr != nil {
		return Response{}, rerr
	}
	ex.version = version
	if version != "" {
		ex.header.Set("X-Model-Version", version)
	}
	predict := ex.route.endpoint == epPredict

	// Check before metadata: a malformed body is the client's 400 whatever
	// the model, and costs no sidecar call.
	var checked *checkedInfer
	var instances []json.RawMessage
	if predict {
		var err *Error
		if instances, err = decodePredict(ex.req.Body); err != nil {
			return Response{}, err
		}
	} else {
		var err *Error
		if checked, err = checkInfer(ex.req.Body, ex.g.maxElements); err != nil {
			return Response{}, err
		}
		if checked.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = ex.withTimeout(checked.timeout)
			defer cancel()
		}
	}
	meta, err := ex.g.metadata(ctx, ex.route.model, version)
	if err != nil {
		return Response{}, err
	}
	ex.known = true
	items := len(instances)
	if predict {
		if err := checkPredictCount(meta, instances); err != nil {
			return Response{}, err
		}
	} else {
		items = checked.batchItems(meta)
	}
	release, qerr := ex.takeQuota(ctx, items)
	if qerr != nil {
		return Response{}, qerr
	}
	defer release()

	var req *pb.ModelInferRequest
	var derr *Error
	if predict {
		req, derr = buildPredict(meta, instances, ex.g.maxElements)
	} else {
		req, derr = checked.decode()
	}
	if derr != nil {
		return Response{}, derr
	}
	req.ModelName, req.ModelVersion = ex.route.model, version

	var res *pb.ModelInferResponse
	err = ex.g.call(ctx, "ModelInfer", func(c pb.InferenceClient) error {
		var err error
		res, err = c.ModelInfer(ctx, req)
		return err
	})
	if err != nil {
		return Response{}, err
	}
	if v := res.GetModelVersion(); v != "" {
		ex.version = v
		ex.header.Set("X-Model-Version", v)
	}
	var body []byte
	if predict {
		body, err = encodePredict(meta, res, items)
	} else {
		body, err = encodeInfer(res)
	}
	if err != nil {
		return Response{}, wrap(KindInternal, "internal error", err)
	}
	ex.g.maybeShadow(m, req, res)
	return jsonResponse(http.StatusOK, body, ex.header), nil
}

// modelMetadata serves GET /v2/models/{m}[/versions/{v}].
func (ex *exchange) modelMetadata(ctx context.Context) (Response, error) {
	if err := ex.authorize(ex.g.routing.model(ex.route.model)); err != nil {
		return Response{}, err
	}
	var res *pb.ModelMetadataResponse
	err := ex.g.call(ctx, "ModelMetadata", func(c pb.InferenceClient) error {
		var err error
		res, err = c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: ex.route.model, Version: ex.route.version})
		return err
	})
	if err != nil {
		return Response{}, err
	}
	ex.known = true
	ex.version = res.GetVersion()
	body, _ := json.Marshal(metadataJSON(res))
	return jsonResponse(http.StatusOK, body, ex.header), nil
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
func (ex *exchange) modelReady(ctx context.Context) (Response, error) {
	if err := ex.authorize(ex.g.routing.model(ex.route.model)); err != nil {
		return Response{}, err
	}
	var ready bool
	err := ex.g.call(ctx, "ModelReady", func(c pb.InferenceClient) error {
		r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: ex.route.model, Version: ex.route.version})
		ready = r.GetReady()
		return err
	})
	if err != nil {
		return Response{}, err
	}
	ex.version = ex.route.version
	if !ready {
		return jsonResponse(http.StatusServiceUnavailable, []byte(`{"ready":false}`), ex.header), nil
	}
	ex.known = true
	return jsonResponse(http.StatusOK, []byte(`{"ready":true}`), ex.header), nil
}

type indexEntryJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	State   string `json:"state"`
	Reason  string `json:"reason"`
}

// repositoryIndex serves Triton's POST /v2/repository/index, listing only
// the models the consumer may use. Body: optional {"ready": true}.
func (ex *exchange) repositoryIndex(ctx context.Context) (Response, error) {
	var body struct {
		Ready bool `json:"ready"`
	}
	if len(ex.req.Body) > 0 {
		if err := json.Unmarshal(ex.req.Body, &body); err != nil {
			return Response{}, wrap(KindBadRequest, "malformed JSON: "+jsonProblem(err), err)
		}
	}
	var res *pb.RepositoryIndexResponse
	err := ex.g.call(ctx, "RepositoryIndex", func(c pb.InferenceClient) error {
		var err error
		res, err = c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{ReadyOnly: body.Ready})
		return err
	})
	if err != nil {
		return Response{}, err
	}
	out := []indexEntryJSON{}
	for _, m := range res.GetModels() {
		if ex.authorize(ex.g.routing.model(m.GetName())) != nil {
			continue
		}
		reason := indexReason(m)
		if reason != "" {
			ex.g.log.Info("repository index: a model version is not serving as configured", "model", m.GetName(),
				"version", m.GetVersion(), "state", m.GetState(), "reason", reason, "detail", m.GetReason())
		}
		out = append(out, indexEntryJSON{Name: m.GetName(), Version: m.GetVersion(), State: m.GetState(), Reason: reason})
	}
	b, _ := json.Marshal(out)
	return jsonResponse(http.StatusOK, b, ex.header), nil
}

// The index's reason codes. The sidecar's own reason text (file paths,
// digests, ONNX Runtime errors, key variable names) is for the operator:
// it goes to the log, and a client reads one of these codes.
const (
	reasonLoadFailed    = "load_failed"    // FAILED: the version's files did not load
	reasonReloadFailed  = "reload_failed"  // READY: changed files failed to load, the previous ones still serve
	reasonModelConfig   = "config_invalid" // UNAVAILABLE without a version: the model's config.yaml is refused
	reasonNotAvailable  = "unavailable"    // UNAVAILABLE: e.g. the version policy names a missing folder
	reasonSeeServerLogs = "see_server_log" // any other state with a reason
)

// indexReason is the reason code for an index entry; "" when the sidecar
// gave no reason.
func indexReason(m *pb.RepositoryIndexResponse_ModelIndex) string {
	if m.GetReason() == "" {
		return ""
	}
	switch m.GetState() {
	case "FAILED":
		return reasonLoadFailed
	case "READY":
		return reasonReloadFailed
	case "UNAVAILABLE":
		if m.GetVersion() == "" {
			return reasonModelConfig
		}
		return reasonNotAvailable
	}
	return reasonSeeServerLogs
}
