package pluginserver

import (
	"bytes"
	"testing"

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
