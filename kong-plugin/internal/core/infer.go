package core

import (
	"context"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/shared/pb"
)

// Infer runs one inference: authorize, check the body's size and what it
// says it is, pick the version, check the body's structure, shapes and
// sizes, take the request's quota, decode the data, one ModelInfer, encode
// the answer, then maybe shadow. Nothing is allocated for the data before
// its quota is taken, and then only for the bytes present.
func (ex *exchange) Infer(ctx context.Context, r protocol.InferRequest) ([]byte, error) {
	ex.urlVersion = r.Version
	m := ex.g.routing.model(r.Model)
	if err := ex.authorize(m); err != nil {
		return nil, err
	}
	if r.BodySize > ex.g.maxBody {
		return nil, protocol.Errorf(protocol.KindTooLarge, "the request body is %d bytes, the limit is %d", r.BodySize, ex.g.maxBody)
	}
	if err := r.Codec.Admit(ex.g.maxBody); err != nil {
		return nil, err
	}
	version, source, rerr := m.resolve(r, ex.identity.Consumer, ex.stickyKey())
	if rerr != nil {
		return nil, rerr
	}
	if version != "" {
		if err := ex.authorizeVersion(m, version); err != nil {
			return nil, err
		}
	}
	ex.setVersion(version)
	ex.header[headerVersionSource] = []string{source}

	// Check before metadata: a malformed body is the client's 400 whatever
	// the model, and costs no sidecar call.
	timeout, cerr := r.Codec.Check(ex.g.maxElements)
	if cerr != nil {
		return nil, cerr
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = ex.withTimeout(timeout)
		defer cancel()
	}
	meta, err := ex.g.metadata(ctx, r.Model, version)
	if err != nil {
		return nil, err
	}
	ex.known = true
	if version == "" && m.restrictsVersions() {
		// The sidecar's latest may be a restricted version: serve exactly
		// the version the metadata named, once it is allowed.
		version = meta.GetVersion()
		if err := ex.authorizeVersion(m, version); err != nil {
			return nil, err
		}
		ex.setVersion(version)
	}
	items, ierr := r.Codec.Items(meta)
	if ierr != nil {
		return nil, ierr
	}
	release, qerr := ex.takeQuota(ctx, items)
	if qerr != nil {
		return nil, qerr
	}
	defer release()

	ex.items = items
	req, derr := r.Codec.Decode(meta)
	if derr != nil {
		return nil, derr
	}
	if perr := ex.protect(req); perr != nil {
		return nil, perr
	}
	req.ModelName, req.ModelVersion = r.Model, version

	var res *pb.ModelInferResponse
	err = ex.g.call(ctx, "ModelInfer", func(c pb.InferenceClient) error {
		var err error
		res, err = c.ModelInfer(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	if v := res.GetModelVersion(); v != "" {
		ex.setVersion(v)
	}
	body, err := r.Codec.Encode(meta, res, items)
	if err != nil {
		return nil, protocol.Wrap(protocol.KindInternal, "internal error", err)
	}
	ex.g.maybeShadow(m, req, res)
	return body, nil
}

// The version headers, spelled canonically: Infer assigns them to the map
// directly rather than through Header.Set, which would check the spelling
// on every request.
const (
	headerVersion       = "X-Model-Version"
	headerVersionSource = "X-Model-Version-Source"
)

// setVersion records the version that answers (or will) and names it in
// X-Model-Version from then on; the header's value is replaced only when
// the version changes (the sidecar's answer usually repeats it).
func (ex *exchange) setVersion(v string) {
	ex.version = v
	if v == "" {
		return
	}
	if cur := ex.header[headerVersion]; len(cur) == 1 && cur[0] == v {
		return
	}
	ex.header[headerVersion] = []string{v}
}

// ModelMetadata asks the sidecar for a model version's metadata. Its
// versions list names only the versions the consumer may call; without a
// version in the URL, a model with per-version allow lists describes the
// version the consumer's requests would be routed to.
func (ex *exchange) ModelMetadata(ctx context.Context, model, version string) (*pb.ModelMetadataResponse, error) {
	ex.urlVersion = version
	m := ex.g.routing.model(model)
	version, aerr := ex.checkedVersion(m, version)
	if aerr != nil {
		return nil, aerr
	}
	var res *pb.ModelMetadataResponse
	err := ex.g.call(ctx, "ModelMetadata", func(c pb.InferenceClient) error {
		var err error
		res, err = c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: model, Version: version})
		return err
	})
	if err != nil {
		return nil, err
	}
	ex.known = true
	if err := ex.authorizeVersion(m, res.GetVersion()); err != nil {
		return nil, err
	}
	ex.version = res.GetVersion()
	res.Versions = ex.visibleVersions(m, res.GetVersions())
	return res, nil
}

// checkedVersion refuses a version the consumer may not call, and fills in
// the routed version (pin, split, default alias) for a request that names
// none of a model with per-version allow lists.
func (ex *exchange) checkedVersion(m *modelRouting, version string) (string, *protocol.Error) {
	if err := ex.authorize(m); err != nil {
		return "", err
	}
	if version == "" && m.restrictsVersions() {
		version, _, _ = m.resolve(protocol.InferRequest{Model: m.name}, ex.identity.Consumer, ex.stickyKey())
	}
	if version != "" {
		if err := ex.authorizeVersion(m, version); err != nil {
			return "", err
		}
	}
	return version, nil
}

// ModelReady asks the sidecar whether a model version can serve.
func (ex *exchange) ModelReady(ctx context.Context, model, version string) (bool, error) {
	ex.urlVersion = version
	version, aerr := ex.checkedVersion(ex.g.routing.model(model), version)
	if aerr != nil {
		return false, aerr
	}
	var ready bool
	err := ex.g.call(ctx, "ModelReady", func(c pb.InferenceClient) error {
		r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: model, Version: version})
		ready = r.GetReady()
		return err
	})
	if err != nil {
		return false, err
	}
	ex.version = version
	if ready {
		ex.known = true
	}
	return ready, nil
}

// RepositoryIndex lists the sidecar's model versions that the consumer may
// use, each with a reason code where it is not serving as configured.
func (ex *exchange) RepositoryIndex(ctx context.Context, readyOnly bool) ([]protocol.IndexEntry, error) {
	var res *pb.RepositoryIndexResponse
	err := ex.g.call(ctx, "RepositoryIndex", func(c pb.InferenceClient) error {
		var err error
		res, err = c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{ReadyOnly: readyOnly})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := []protocol.IndexEntry{}
	for _, m := range res.GetModels() {
		if !ex.mayCall(ex.g.routing.model(m.GetName()), m.GetVersion()) {
			continue
		}
		reason := indexReason(m)
		if reason != "" {
			ex.g.log.Info("repository index: a model version is not serving as configured", "model", m.GetName(),
				"version", m.GetVersion(), "state", m.GetState(), "reason", reason, "detail", m.GetReason())
		}
		out = append(out, protocol.IndexEntry{Name: m.GetName(), Version: m.GetVersion(), State: m.GetState(), Reason: reason,
			Digest: m.GetDigest(), Source: m.GetSource()})
	}
	return out, nil
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

// Health asks the sidecar whether it is live, or ready when ready is set.
func (ex *exchange) Health(ctx context.Context, ready bool) bool {
	ok := false
	method := "ServerLive"
	if ready {
		method = "ServerReady"
	}
	err := ex.g.call(ctx, method, func(c pb.InferenceClient) error {
		if ready {
			r, err := c.ServerReady(ctx, &pb.ServerReadyRequest{})
			ok = r.GetReady()
			return err
		}
		r, err := c.ServerLive(ctx, &pb.ServerLiveRequest{})
		ok = r.GetLive()
		return err
	})
	return err == nil && ok
}
