package kongharness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	kpp "github.com/Kong/go-pdk/server/kong_plugin_protocol"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// Request is the client request Kong would hold while the plugin runs.
type Request struct {
	Method string
	// Path is what kong.request.get_path returns (after any strip_path).
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
	ClientIP string
	// BodyBufferSize simulates nginx's client_body_buffer_size: a larger
	// body is handed over as a temporary file (body_filepath), as Kong does.
	// 0 means every body fits in memory.
	BodyBufferSize int
	// Consumers are Kong's consumers by username, for kong.client.load_consumer.
	Consumers map[string]Consumer
}

// Consumer is a Kong consumer entity.
type Consumer struct {
	ID       string
	Username string
	CustomID string
}

// Response is what the plugin did with the request.
type Response struct {
	// Exited is true when the plugin called kong.response.exit; otherwise
	// Kong would have proxied the request upstream.
	Exited bool
	Status int
	Header http.Header
	Body   []byte
	// Calls are the PDK methods the plugin called, in order.
	Calls []string
	// Authenticated is the consumer passed to kong.client.authenticate.
	Authenticated *Consumer
	// Logs are the plugin's kong.log.* lines.
	Logs []string
	// Serialized holds what the plugin added to Kong's log serializer with
	// kong.log.set_serialize_value, as kong.log.serialize() would return
	// it (without Kong's own fields).
	Serialized map[string]any
}

// Access runs the access phase of instance id for req, answering the
// plugin's PDK calls as Kong would, until the plugin calls
// kong.response.exit (then Kong records the answer and closes the
// connection, never replying) or ends the event.
func (s *Server) Access(ctx context.Context, id int32, req Request) (*Response, error) {
	conn, err := s.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	seq := s.seq.Add(1)
	call := &kpp.RpcCall{Sequence: seq, Call: &kpp.RpcCall_CmdHandleEvent{
		CmdHandleEvent: &kpp.CmdHandleEvent{InstanceId: id, EventName: "access"},
	}}
	if err := writeMessage(conn, call); err != nil {
		return nil, err
	}
	res := &Response{Header: http.Header{}}
	var tmpFiles []string
	defer func() {
		for _, f := range tmpFiles {
			_ = os.Remove(f)
		}
	}()
	for {
		method, err := readFrame(conn)
		if err != nil {
			return res, fmt.Errorf("reading the next PDK call after %v: %w", res.Calls, err)
		}
		if len(method) == 0 {
			// The handler returned without exit: the RpcReturn follows.
			data, err := readFrame(conn)
			if err != nil {
				return res, fmt.Errorf("reading the event's RpcReturn: %w", err)
			}
			var ret kpp.RpcReturn
			if err := proto.Unmarshal(data, &ret); err != nil || ret.Sequence != seq {
				return res, fmt.Errorf("bad RpcReturn for the event (sequence %d, want %d): %v", ret.Sequence, seq, err)
			}
			return res, nil
		}
		args, err := readFrame(conn)
		if err != nil {
			return res, fmt.Errorf("reading the arguments of %s: %w", method, err)
		}
		name := string(method)
		res.Calls = append(res.Calls, name)
		if name == "kong.response.exit" {
			var ex kpp.ExitArgs
			if err := proto.Unmarshal(args, &ex); err != nil {
				return res, fmt.Errorf("decoding ExitArgs: %w", err)
			}
			res.Exited = true
			res.Status = int(ex.Status)
			res.Body = ex.Body
			res.Header = unwrapHeaders(ex.Headers)
			return res, nil // Kong never answers exit: the deferred Close ends it.
		}
		reply, err := answer(name, args, req, res, &tmpFiles)
		if err != nil {
			return res, err
		}
		if err := writeMessage(conn, reply); err != nil {
			return res, err
		}
	}
}

// answer is Kong's side of one PDK call; a nil reply is the empty frame
// Kong sends for functions that return nothing (or nil and an error).
func answer(method string, args []byte, req Request, res *Response, tmpFiles *[]string) (proto.Message, error) {
	str := func(s string) proto.Message { return &kpp.String{V: s} }
	switch method {
	case "kong.request.get_method":
		return str(req.Method), nil
	case "kong.request.get_path":
		return str(req.Path), nil
	case "kong.request.get_path_with_query":
		if req.RawQuery == "" {
			return str(req.Path), nil
		}
		return str(req.Path + "?" + req.RawQuery), nil
	case "kong.request.get_raw_query":
		return str(req.RawQuery), nil
	case "kong.request.get_header":
		var a kpp.String
		if err := proto.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		return str(req.Header.Get(a.V)), nil
	case "kong.request.get_headers":
		var a kpp.Int
		if err := proto.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		return wrapHeaders(req.Header, int(a.V))
	case "kong.request.get_raw_body":
		if req.BodyBufferSize > 0 && len(req.Body) > req.BodyBufferSize {
			f, err := os.CreateTemp("", "kong-body-")
			if err != nil {
				return nil, err
			}
			*tmpFiles = append(*tmpFiles, f.Name())
			_, err = f.Write(req.Body)
			f.Close()
			if err != nil {
				return nil, err
			}
			return &kpp.RawBodyResult{Kind: &kpp.RawBodyResult_BodyFilepath{BodyFilepath: f.Name()}}, nil
		}
		return &kpp.RawBodyResult{Kind: &kpp.RawBodyResult_Content{Content: req.Body}}, nil
	case "kong.client.get_ip", "kong.client.get_forwarded_ip":
		return str(req.ClientIP), nil
	case "kong.client.load_consumer":
		var a kpp.ConsumerSpec
		if err := proto.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		for _, c := range req.Consumers {
			if (a.ByUsername && c.Username == a.Id) || c.ID == a.Id {
				return &kpp.Consumer{Id: c.ID, Username: c.Username, CustomId: c.CustomID}, nil
			}
		}
		return nil, nil // Kong: nil, "not found" -> an empty frame
	case "kong.client.authenticate":
		var a kpp.AuthenticateArgs
		if err := proto.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		if a.Consumer == nil && a.Credential == nil {
			return nil, errors.New("kong.client.authenticate: either credential or consumer must be provided")
		}
		if a.Consumer != nil {
			res.Authenticated = &Consumer{ID: a.Consumer.Id, Username: a.Consumer.Username, CustomID: a.Consumer.CustomId}
		}
		return nil, nil
	}
	if method == "kong.log.set_serialize_value" {
		var a kpp.KV
		if err := proto.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		if res.Serialized == nil {
			res.Serialized = map[string]any{}
		}
		return nil, setSerializeValue(res.Serialized, a.K, a.V.AsInterface())
	}
	if strings.HasPrefix(method, "kong.log.") {
		var a structpb.ListValue
		if err := proto.Unmarshal(args, &a); err == nil {
			res.Logs = append(res.Logs, fmt.Sprint(a.AsSlice()...))
		}
		return nil, nil
	}
	return nil, fmt.Errorf("PDK method %q is not simulated by the harness", method)
}

// wrapHeaders answers kong.request.get_headers: lowercase names, a single
// value as a string and several as a list, at most max names (Kong's
// default 100 when max is 0 or less).
func wrapHeaders(h http.Header, max int) (proto.Message, error) {
	if max <= 0 {
		max = 100
	}
	m := map[string]any{}
	for k, vs := range h {
		if len(m) >= max {
			break
		}
		k = strings.ToLower(k)
		if len(vs) == 1 {
			m[k] = vs[0]
			continue
		}
		l := make([]any, len(vs))
		for i, v := range vs {
			l[i] = v
		}
		m[k] = l
	}
	return structpb.NewStruct(m)
}

func unwrapHeaders(st *structpb.Struct) http.Header {
	h := http.Header{}
	for k, v := range st.AsMap() {
		switch x := v.(type) {
		case string:
			h.Add(k, x)
		case []any:
			for _, e := range x {
				h.Add(k, fmt.Sprint(e))
			}
		default:
			h.Add(k, fmt.Sprint(x))
		}
	}
	return h
}
