package pluginserver

import (
	"net/http"
	"unicode/utf8"

	"github.com/Kong/go-pdk/bridge"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// DecodeHeaders decodes Kong's answer to kong.request.get_headers, a
// google.protobuf.Struct of header name to a string or a list of strings,
// into an http.Header with canonical names, as go-pdk's
// bridge.UnwrapHeaders and a canonicalisation would, without building the
// Struct's map of Values and the map of interfaces between: about 3% of
// the plugin server's CPU at 64 clients went there. The answer Kong sends
// (lowercase names, each once, a string or a list of strings) is read
// directly; anything else (another kind of value, a name twice, a field
// repeated, text that is not UTF-8) takes go-pdk's way, so the result and
// the errors are always the same (FuzzDecodeHeaders compares them).
func DecodeHeaders(b []byte) (http.Header, error) {
	if h, ok := decodeHeaders(b); ok {
		return h, nil
	}
	var st structpb.Struct
	if err := proto.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	unwrapped := bridge.UnwrapHeaders(&st)
	h := make(http.Header, len(unwrapped))
	for k, v := range unwrapped {
		h[http.CanonicalHeaderKey(k)] = v
	}
	return h, nil
}

// decodeHeaders is DecodeHeaders for the usual shape; ok is false for
// anything else.
func decodeHeaders(b []byte) (http.Header, bool) {
	h := make(http.Header, 16)
	for len(b) > 0 {
		entry, rest, ok := field(b, structFields)
		if !ok {
			return nil, false
		}
		b = rest
		key, rest, ok := field(entry, entryKey)
		if !ok || !utf8.Valid(key) {
			return nil, false
		}
		value, rest, ok := field(rest, entryValue)
		if !ok || len(rest) > 0 {
			return nil, false
		}
		name := http.CanonicalHeaderKey(string(key))
		if _, twice := h[name]; twice {
			return nil, false
		}
		values, ok := stringValues(value)
		if !ok {
			return nil, false
		}
		h[name] = values
	}
	return h, true
}

// stringValues reads a Value that is a string or a list of strings.
func stringValues(b []byte) ([]string, bool) {
	if s, rest, ok := field(b, valueString); ok {
		if len(rest) > 0 || !utf8.Valid(s) {
			return nil, false
		}
		return []string{string(s)}, true
	}
	list, rest, ok := field(b, valueList)
	if !ok || len(rest) > 0 {
		return nil, false
	}
	values := []string{}
	for len(list) > 0 {
		v, more, ok := field(list, listValues)
		if !ok {
			return nil, false
		}
		list = more
		s, after, ok := field(v, valueString)
		if !ok || len(after) > 0 || !utf8.Valid(s) {
			return nil, false
		}
		values = append(values, string(s))
	}
	return values, true
}

// field reads one length-delimited field numbered num at the start of b:
// its contents and what follows; ok is false for anything else.
func field(b []byte, num protowire.Number) (contents, rest []byte, ok bool) {
	n, typ, tagLen := protowire.ConsumeTag(b)
	if tagLen < 0 || n != num || typ != protowire.BytesType {
		return nil, nil, false
	}
	contents, l := protowire.ConsumeBytes(b[tagLen:])
	if l < 0 {
		return nil, nil, false
	}
	return contents, b[tagLen+l:], true
}
