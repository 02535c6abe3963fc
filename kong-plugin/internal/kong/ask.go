package kong

import (
	"net/http"

	"github.com/Kong/go-pdk"
	pb "github.com/Kong/go-pdk/server/kong_plugin_protocol"

	"github.com/modelgate/modelgate/kong-plugin/internal/pluginserver"
)

// maxHeaders is how many request headers the adapter asks Kong for:
// Kong's default (go-pdk's GetHeaders(-1) asks for the same).
const maxHeaders = 100

// requestFields is what every request needs from Kong before the core.
type requestFields struct {
	method, pathQuery string
	headers           http.Header // canonical names
	ip                string      // the forwarded client IP, where asked for
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
	headers, err := kong.Request.GetHeaders(maxHeaders)
	if err != nil {
		return f, err
	}
	f.headers = canonical(headers)
	if clientIP {
		f.ip, err = kong.Client.GetForwardedIp()
	}
	return f, err
}

// pipelined makes the same calls over conn in one round trip.
func pipelined(conn pluginserver.Conn) askFunc {
	return func(_ *pdk.PDK, clientIP bool) (requestFields, error) {
		var method, pathQuery, ip pb.String
		var headers http.Header
		calls := []pluginserver.Call{
			{Method: "kong.request.get_method", Out: &method},
			{Method: "kong.request.get_path_with_query", Out: &pathQuery},
			{Method: "kong.request.get_headers", Args: &pb.Int{V: maxHeaders}, Decode: func(b []byte) (err error) {
				headers, err = pluginserver.DecodeHeaders(b)
				return err
			}},
		}
		if clientIP {
			calls = append(calls, pluginserver.Call{Method: "kong.client.get_forwarded_ip", Out: &ip})
		}
		if err := conn.Pipeline(calls...); err != nil {
			return requestFields{}, err
		}
		return requestFields{method: method.V, pathQuery: pathQuery.V, headers: headers, ip: ip.V}, nil
	}
}
