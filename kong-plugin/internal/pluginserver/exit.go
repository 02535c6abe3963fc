package pluginserver

import (
	"errors"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// errExited ends a connection whose handler called Conn.Exit.
var errExited = errors.New("the handler answered with kong.response.exit")

// Exit is kong.response.exit: Kong sends status, body and header to the
// client. Kong 3.9.3 never answers it: in the access phase Kong's plugin
// iterator collects responses (ctx.delay_response, set in kong/init.lua's
// execute_collecting_plugins_iterator), so kong.response.exit records the
// response and yields the plugin's coroutine (kong/pdk/response.lua,
// _RESPONSE.exit), and Rpc:call in pb_rpc.lua never reads this connection
// again; nginx closes it when the request ends. go-pdk's Exit waits for
// that close, which costs the plugin server a read and a wake-up per
// request and holds a worker until Kong has sent the whole response. Exit
// sends the call and returns; the server then closes the connection
// without the event's RpcReturn, which Kong would not read either.
//
// The arguments are go-pdk's ExitArgs (response.Exit, bridge.WrapHeaders:
// each header a list of strings), encoded here without building a
// protobuf Struct of interface values: that encoding was about 8% of the
// plugin server's CPU at 64 clients.
func (c Conn) Exit(status int, body []byte, header map[string][]string) error {
	if err := writeFrame(c.c, []byte("kong.response.exit")); err != nil {
		return err
	}
	if err := writeFrame(c.c, appendExitArgs(nil, status, body, header)); err != nil {
		return err
	}
	if err := c.c.Flush(); err != nil {
		return err
	}
	c.c.exited = true
	return nil
}

// Field numbers of kong_plugin_protocol.ExitArgs and of the well-known
// google.protobuf Struct, Value and ListValue.
const (
	exitStatus, exitBody, exitHeaders = 1, 2, 3
	structFields                      = 1
	entryKey, entryValue              = 1, 2
	valueString, valueList            = 3, 6
	listValues                        = 1
)

// appendExitArgs appends ExitArgs{status, body, headers} as
// proto.MarshalOptions{Deterministic: true} encodes go-pdk's (header names
// sorted).
func appendExitArgs(b []byte, status int, body []byte, header map[string][]string) []byte {
	if status != 0 {
		b = protowire.AppendTag(b, exitStatus, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(int32(status))))
	}
	if len(body) > 0 {
		b = protowire.AppendTag(b, exitBody, protowire.BytesType)
		b = protowire.AppendBytes(b, body)
	}
	names := make([]string, 0, len(header))
	size := 0
	for name, values := range header {
		names = append(names, name)
		size += sizeField(structFields, sizeEntry(name, values))
	}
	slices.Sort(names)
	b = appendLen(b, exitHeaders, size)
	for _, name := range names {
		values := header[name]
		b = appendLen(b, structFields, sizeEntry(name, values))
		b = protowire.AppendTag(b, entryKey, protowire.BytesType)
		b = protowire.AppendString(b, name)
		b = appendLen(b, entryValue, sizeValue(values))
		b = appendLen(b, valueList, sizeList(values))
		for _, v := range values {
			b = appendLen(b, listValues, sizeField(valueString, len(v)))
			b = protowire.AppendTag(b, valueString, protowire.BytesType)
			b = protowire.AppendString(b, v)
		}
	}
	return b
}

// appendLen appends the tag and length of a length-delimited field of
// size bytes; its contents follow.
func appendLen(b []byte, num protowire.Number, size int) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(size))
}

// sizeField is the encoded size of a length-delimited field of size bytes.
func sizeField(num protowire.Number, size int) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(size)
}

// sizeEntry is the size of a Struct's fields entry: a name and a Value
// holding a list of strings.
func sizeEntry(name string, values []string) int {
	return sizeField(entryKey, len(name)) + sizeField(entryValue, sizeValue(values))
}

func sizeValue(values []string) int { return sizeField(valueList, sizeList(values)) }

func sizeList(values []string) int {
	n := 0
	for _, v := range values {
		n += sizeField(listValues, sizeField(valueString, len(v)))
	}
	return n
}
