package pluginserver

import (
	"bytes"
	"testing"
	"time"

	"github.com/Kong/go-pdk"
	"github.com/Kong/go-pdk/bridge"
	pb "github.com/Kong/go-pdk/server/kong_plugin_protocol"
	"google.golang.org/protobuf/proto"
)

// TestExitArgsEncodeAsGoPDK: the hand-written ExitArgs are the bytes
// go-pdk's response.Exit marshals (deterministically: names sorted).
func TestExitArgsEncodeAsGoPDK(t *testing.T) {
	for _, tt := range []struct {
		status int
		body   []byte
		header map[string][]string
	}{
		{200, []byte(`{"model_name":"m","outputs":[]}`), map[string][]string{
			"Content-Type": {"application/json"}, "X-Model-Version": {"1"}, "Vary": {"Accept-Encoding", "Origin"},
			"X-Empty": {""}, "X-None": {}, "RateLimit-Remaining": {"99"},
		}},
		{401, nil, nil},
		{503, []byte{}, map[string][]string{"Retry-After": {"1"}}},
		{0, bytes.Repeat([]byte("x"), 70000), map[string][]string{"X-Long": {string(bytes.Repeat([]byte("v"), 300))}}},
	} {
		h, err := bridge.WrapHeaders(tt.header)
		if err != nil {
			t.Fatal(err)
		}
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(&pb.ExitArgs{Status: int32(tt.status), Body: tt.body, Headers: h})
		if err != nil {
			t.Fatal(err)
		}
		if got := appendExitArgs(nil, tt.status, tt.body, tt.header); !bytes.Equal(got, want) {
			t.Errorf("status %d: encoded\n%x\nwant\n%x", tt.status, got, want)
		}
	}
}

// exitPlugin answers every request with Conn.Exit.
type exitPlugin struct{}

func (*exitPlugin) Access(*pdk.PDK) {}

func (*exitPlugin) AccessConn(_ *pdk.PDK, conn Conn) {
	_ = conn.Exit(418, []byte("short and stout"), map[string][]string{"X-Teapot": {"yes"}})
}

// TestConnExitDoesNotWaitForKong: Kong never answers kong.response.exit
// and closes the connection only when the request ends; Conn.Exit sends
// the call and the server closes the connection at once, without the
// event's RpcReturn (go-pdk's Exit would wait for Kong's close, and this
// read would time out).
func TestConnExitDoesNotWaitForKong(t *testing.T) {
	_, path := startServerOf(t, func() any { return &exitPlugin{} })
	k := dial(t, path)
	k.start(1, `{"__seq__": 3}`)
	k.call(2, &pb.RpcCall{Call: &pb.RpcCall_CmdHandleEvent{CmdHandleEvent: &pb.CmdHandleEvent{InstanceId: 3, EventName: "access"}}})
	if m := string(k.mustRead()); m != "kong.response.exit" {
		t.Fatalf("PDK call %q, want kong.response.exit", m)
	}
	var exit pb.ExitArgs
	if err := proto.Unmarshal(k.mustRead(), &exit); err != nil {
		t.Fatal(err)
	}
	if got := bridge.UnwrapHeaders(exit.Headers); exit.Status != 418 || string(exit.Body) != "short and stout" || got["X-Teapot"][0] != "yes" {
		t.Fatalf("exit %v, want 418 with its body and header", &exit)
	}
	k.closed()
}

// badAnswerPlugin pipelines two calls and answers 500 through Conn.Exit
// when one answer does not decode.
type badAnswerPlugin struct{}

func (*badAnswerPlugin) Access(*pdk.PDK) {}

func (*badAnswerPlugin) AccessConn(_ *pdk.PDK, conn Conn) {
	var method, path pb.String
	if err := conn.Pipeline(
		Call{Method: "kong.request.get_method", Out: &method},
		Call{Method: "kong.request.get_path_with_query", Out: &path},
	); err != nil {
		_ = conn.Exit(500, []byte(err.Error()), nil)
	}
}

// TestPipelineReadsEveryAnswer: after an answer that does not decode the
// plugin still reads the rest before it exits and closes the connection,
// so Kong's writes of those answers succeed (Kong asserts each).
func TestPipelineReadsEveryAnswer(t *testing.T) {
	_, path := startServerOf(t, func() any { return &badAnswerPlugin{} })
	k := dial(t, path)
	k.start(1, `{"__seq__": 4}`)
	k.call(2, &pb.RpcCall{Call: &pb.RpcCall_CmdHandleEvent{CmdHandleEvent: &pb.CmdHandleEvent{InstanceId: 4, EventName: "access"}}})
	for range 4 {
		k.mustRead()
	}
	k.send([]byte{0xff}) // not a pb.String
	// A plugin that gave up at the first answer has exited and closed by
	// now; this one waits for the second.
	time.Sleep(100 * time.Millisecond)
	second, _ := proto.Marshal(&pb.String{V: "/v2"})
	if err := writeFrame(k.c, second); err != nil {
		t.Fatalf("Kong's second answer: %v (the plugin closed the connection first)", err)
	}
	if m := string(k.mustRead()); m != "kong.response.exit" {
		t.Fatalf("next PDK call %q, want kong.response.exit", m)
	}
	var exit pb.ExitArgs
	if err := proto.Unmarshal(k.mustRead(), &exit); err != nil || exit.Status != 500 {
		t.Fatalf("exit %v (%v), want 500", &exit, err)
	}
}
