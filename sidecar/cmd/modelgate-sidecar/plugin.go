package main

import (
	"log/slog"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/modelgate/modelgate/shared"
)

// servePlugin serves through go-plugin (handshake on stdout) until the host
// stops the plugin or SIGTERM arrives, which drains like standalone mode.
func servePlugin(srv inferenceServer, opts []grpc.ServerOption, signals <-chan os.Signal, hlog hclog.Logger, log *slog.Logger) error {
	servers := make(chan *grpc.Server, 1)
	go func() {
		s := <-servers
		sig := <-signals
		log.Info("signal received; draining in-flight requests", "signal", sig.String())
		shutdown(srv, s, log)
	}()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: shared.Handshake,
		Plugins:         shared.PluginMap(srv),
		GRPCServer: func(base []grpc.ServerOption) *grpc.Server {
			s := grpc.NewServer(append(base, opts...)...)
			servers <- s
			return s
		},
		Logger: hlog,
	})
	return nil
}
