// Package shared is the contract between the modelgate plugin server and
// modelgate-sidecar: the gRPC service (package pb), the go-plugin handshake
// and plugin type, the client that launches or attaches to the sidecar, and
// the tensor types both sides validate against (package tensor).
package shared

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/modelgate/modelgate/shared/pb"
)

// Handshake is the go-plugin handshake both binaries agree on. A sidecar
// started by hand (without the cookie) tells the user it is meant to be
// launched by the plugin server or run with --socket.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "MODELGATE_SIDECAR_COOKIE",
	MagicCookieValue: "f3d1c7a2-modelgate-sidecar",
}

// PluginName is the name the inference service is dispensed under.
const PluginName = "inference"

// InferencePlugin adapts the gRPC Inference service to go-plugin. The sidecar
// sets Impl; the client side leaves it nil.
type InferencePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pb.InferenceServer
}

// GRPCServer registers the inference service on the plugin's gRPC server.
func (p *InferencePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterInferenceServer(s, p.Impl)
	return nil
}

// GRPCClient returns a pb.InferenceClient over the plugin's connection.
func (p *InferencePlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return pb.NewInferenceClient(c), nil
}

// PluginMap is the go-plugin plugin set of both binaries.
func PluginMap(server pb.InferenceServer) map[string]plugin.Plugin {
	return map[string]plugin.Plugin{PluginName: &InferencePlugin{Impl: server}}
}
