package kong

import (
	"github.com/Kong/go-pdk"
	"github.com/Kong/go-pdk/bridge"
	pb "github.com/Kong/go-pdk/server/kong_plugin_protocol"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/modelgate/modelgate/kong-plugin/internal/pluginserver"
)

// maxHeaders is how many request headers the adapter asks Kong for:
// Kong's default (go-pdk's GetHeaders(-1) asks for the same).
const maxHeaders = 100

// requestFields is what every request needs from Kong before the core.
type requestFields struct {
	method, pathQuery string
	headers           map[string][]string
	ip                string // the forwarded client IP, where asked for
}

// askFunc fetches the request's fields from Kong, the client IP only where
// clientIP.
type askFunc func(kong *pdk.PDK, clientIP bool) (requestFields, error)

// askOneByOne makes go-pdk's calls, a round trip each.
func askOneByOne(kong *pdk.PDK, clientIP bool) (f requestFields, err error) {
	if f.method, err = kong.Request.GetMethod(); err != nil {
		return f, err
	}
	if f.pathQuery, err = kong.Request.GetPathWithQuery(); err != nil {
		return f, err
	}
	if f.headers, err = kong.Request.GetHeaders(maxHeaders); err != nil {
		return f, err
	}
	if clientIP {
		f.ip, err = kong.Client.GetForwardedIp()
	}
	return f, err
}

// pipelined makes the same calls over conn in one round trip.
func pipelined(conn pluginserver.Conn) askFunc {
	return func(_ *pdk.PDK, clientIP bool) (requestFields, error) {
		var method, pathQuery, ip pb.String
		var headers structpb.Struct
		calls := []pluginserver.Call{
			{Method: "kong.request.get_method", Out: &method},
			{Method: "kong.request.get_path_with_query", Out: &pathQuery},
			{Method: "kong.request.get_headers", Args: &pb.Int{V: maxHeaders}, Out: &headers},
		}
		if clientIP {
			calls = append(calls, pluginserver.Call{Method: "kong.client.get_forwarded_ip", Out: &ip})
		}
		if err := conn.Pipeline(calls...); err != nil {
			return requestFields{}, err
		}
		return requestFields{method: method.V, pathQuery: pathQuery.V, headers: bridge.UnwrapHeaders(&headers), ip: ip.V}, nil
	}
}
