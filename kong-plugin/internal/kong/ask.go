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

// askFunc fetches what every request needs from Kong: the method, the path
// with its query, the headers and, where clientIP, the forwarded client IP
// ("" otherwise).
type askFunc func(kong *pdk.PDK, clientIP bool) (method, pathQuery string, headers map[string][]string, ip string, err error)

// askOneByOne makes go-pdk's calls, a round trip each.
func askOneByOne(kong *pdk.PDK, clientIP bool) (method, pathQuery string, headers map[string][]string, ip string, err error) {
	if method, err = kong.Request.GetMethod(); err != nil {
		return
	}
	if pathQuery, err = kong.Request.GetPathWithQuery(); err != nil {
		return
	}
	if headers, err = kong.Request.GetHeaders(maxHeaders); err != nil {
		return
	}
	if clientIP {
		ip, err = kong.Client.GetForwardedIp()
	}
	return
}

// pipelined makes the same calls over conn in one round trip.
func pipelined(conn pluginserver.Conn) askFunc {
	return func(_ *pdk.PDK, clientIP bool) (string, string, map[string][]string, string, error) {
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
			return "", "", nil, "", err
		}
		return method.V, pathQuery.V, bridge.UnwrapHeaders(&headers), ip.V, nil
	}
}
