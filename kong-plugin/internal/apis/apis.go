// Package apis lists the wire protocols modelgate serves: the Router the
// Kong adapter, `modelgate serve` and the tests hand to core.Gateway.Handle.
// A new protocol is a package under protocol/ and one line here; the core
// never names one.
package apis

import (
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol/oip"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol/tfserving"
)

// Router is every protocol modelgate serves, each found by its API segment
// in the path. It is never changed after start.
var Router = protocol.Router{
	oip.Protocol{},       // /v2: Open Inference Protocol (KServe v2, Triton)
	tfserving.Protocol{}, // /v1: TF Serving REST :predict
}
