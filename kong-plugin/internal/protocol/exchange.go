package protocol

import (
	"context"
	"net/http"
	"time"

	"github.com/modelgate/modelgate/shared/pb"
)

// Exchange is what a protocol asks of the core while it serves one
// authenticated request. The core authorizes, takes quota, picks the
// version and calls the sidecar; the protocol only decodes and encodes.
type Exchange interface {
	// Infer runs one inference (see InferRequest) and returns the body
	// the request's Codec encoded.
	Infer(ctx context.Context, req InferRequest) ([]byte, error)
	// ModelMetadata is the metadata of a model version ("" = the sidecar's
	// latest), for a consumer allowed to use the model.
	ModelMetadata(ctx context.Context, model, version string) (*pb.ModelMetadataResponse, error)
	// ModelReady reports whether a model version can serve, for a
	// consumer allowed to use the model.
	ModelReady(ctx context.Context, model, version string) (bool, error)
	// RepositoryIndex lists the model versions the consumer may use.
	RepositoryIndex(ctx context.Context, readyOnly bool) ([]IndexEntry, error)
	// Health reports whether the sidecar is live (ready false) or ready.
	Health(ctx context.Context, ready bool) bool
	// Header is what every answer to the request carries from the point the
	// core set it (quota, version).
	Header() http.Header
}

// InferRequest is one inference as the core decides on it: the model and
// what the path chose of its version, the body's size, and the protocol's
// Codec for the rest.
type InferRequest struct {
	Model string
	// Version is an explicit version from the path; Alias a label from
	// it. Both empty: the core chooses (pin, split, default alias).
	Version, Alias string
	// BodySize is the body's length, checked against limits.max_body_bytes.
	BodySize int
	Codec    Codec
}

// Codec turns one protocol's request body into the sidecar's request and
// the sidecar's answer into the protocol's body, in the steps the core
// runs them: nothing is allocated for tensor data before the request's
// quota is taken, and then only for the bytes present.
type Codec interface {
	// Admit checks what the body says it is (content type, encoding) and
	// that there is one; it runs before the version is chosen. A body the
	// protocol inflates (Content-Encoding) must stay within maxBody bytes.
	Admit(maxBody int) *Error
	// Check parses the body's structure and checks shapes and sizes
	// against the body's bytes and maxElements, before the model is looked
	// up. It returns the deadline the client asked for (0: none).
	Check(maxElements int64) (timeout time.Duration, err *Error)
	// Items counts the request's batch items for the item quota, checked
	// against the model's metadata.
	Items(meta *pb.ModelMetadataResponse) (int, *Error)
	// Decode turns the data into the sidecar's inputs, once quota is taken.
	// The core fills in the model name and version.
	Decode(meta *pb.ModelMetadataResponse) (*pb.ModelInferRequest, *Error)
	// Encode writes the answer body for items batch items; an error is
	// the sidecar's bug, a 500.
	Encode(meta *pb.ModelMetadataResponse, res *pb.ModelInferResponse, items int) ([]byte, error)
}

// IndexEntry is one model version of the repository index. Reason is a
// code (core's reason codes), never the sidecar's own text. Digest and
// Source describe the files the version serves from ("registry" with the
// OCI manifest digest, "local" with the model file's sha256); empty when
// nothing of it is loaded.
type IndexEntry struct {
	Name, Version, State, Reason string
	Digest, Source               string
}
