package kong

import (
	"log/slog"

	"github.com/Kong/go-pdk"
	kpp "github.com/Kong/go-pdk/server/kong_plugin_protocol"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// serializeKey is where the audit record lands in Kong's log serializer:
// file-log, http-log and Kong's other logging plugins write it as the
// entry's "modelgate" object.
const serializeKey = "modelgate"

// setSerializeValue calls kong.log.set_serialize_value(key, value) as Kong
// 3.9.3 serves it: the plugin protocol's Log_SetSerializeValue(KV), which
// Kong's pb_rpc.lua names kong.log.set_serialize_value and unwraps into
// (key, value) (kong/include/kong/pluginsocket.proto,
// kong/runloop/plugin_servers/rpc/pb_rpc.lua), in mode "set", allowed in
// the access phase (kong/pdk/log.lua). go-pdk v0.11.2 leaves its wrapper
// commented out (log/log.go), so the call goes through go-pdk's bridge.
func setSerializeValue(kong *pdk.PDK, key string, value map[string]any) error {
	v, err := structpb.NewValue(value)
	if err != nil {
		return err
	}
	return kong.Log.Ask("kong.log.set_serialize_value", &kpp.KV{K: key, V: v}, nil)
}

// audit adds the request's audit record to Kong's log serializer. It must
// run before kong.response.exit, which never returns. A failure is
// logged: the answer is already decided.
func audit(kong *pdk.PDK, a protocol.Audit) {
	if err := setSerializeValue(kong, serializeKey, a.Fields()); err != nil {
		slog.Warn("kong.log.set_serialize_value failed; the request's audit record is lost", "err", err)
	}
}
