// Package kongharness drives a real modelgate plugin server exactly the
// way Kong's pluginserver code (kong/runloop/plugin_servers) does, so tests
// and benchmarks exercise the binary Kong would run without running Kong.
// It sits outside kong-plugin/internal so that the benchmark command can
// import it too.
//
//   - Dump runs `modelgate -dump` (Kong's query_cmd) and parses the plugin
//     info and schema; CheckConfig validates a plugin config against that
//     schema as Kong's schema validation would (package kongschema, which
//     `modelgate check` uses too); WithKongNulls fills it as Kong sends it.
//   - Routes and MatchRoute pick the route of a declarative file for a
//     request as Kong's router does (kong/router/transform.lua).
//   - Start runs `modelgate -kong-prefix DIR` (Kong's start_cmd) and waits
//     for DIR/modelgate.socket.
//   - On the socket every message is a frame: a 4-byte little-endian length
//     and that many bytes. Kong sends an RpcCall (cmd_start_instance with the
//     config JSON plus Kong's __seq__, __key__ and __plugin_id;
//     cmd_handle_event "access"); during an event the plugin sends PDK calls
//     as two frames (the method name, then its protobuf argument) and Kong
//     answers each with one frame; an empty method frame ends the event,
//     followed by the RpcReturn frame. kong.response.exit is never answered:
//     Kong ends the request and closes the connection, so Access does too.
package kongharness
