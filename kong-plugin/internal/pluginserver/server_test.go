package pluginserver

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/Kong/go-pdk"
	pb "github.com/Kong/go-pdk/server/kong_plugin_protocol"
	"google.golang.org/protobuf/proto"
)

// testPlugin is a plugin config whose access phase asks Kong for the
// request's method and puts it in a response header, or, with a greeting,
// answers with it through kong.response.exit.
type testPlugin struct {
	Greeting string `json:"greeting"`
}

func (p *testPlugin) Access(kong *pdk.PDK) {
	method, err := kong.Request.GetMethod()
	if err != nil {
		return
	}
	if p.Greeting == "" {
		_ = kong.Response.SetHeader("X-Method", method)
		return
	}
	kong.Response.Exit(200, []byte(p.Greeting), map[string][]string{"X-Method": {method}})
}

// kongConn is the Kong side of one connection to the server (Kong 3.9.3
// kong/runloop/plugin_servers/rpc/pb_rpc.lua, Rpc:call).
type kongConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func startServer(t *testing.T) (*Server, string) {
	t.Helper()
	return startServerOf(t, func() any { return &testPlugin{} })
}

// startServerOf serves plugins of constructor on a socket of its own.
func startServerOf(t *testing.T, constructor func() any) (*Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "modelgate.socket")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := New(constructor)
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		l.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, path
}

func dial(t *testing.T, path string) *kongConn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &kongConn{t: t, c: c, r: bufio.NewReader(c)}
}

func (k *kongConn) send(data []byte) {
	k.t.Helper()
	if err := writeFrame(k.c, data); err != nil {
		k.t.Fatal(err)
	}
}

func (k *kongConn) call(seq int64, call *pb.RpcCall) {
	k.t.Helper()
	call.Sequence = seq
	b, err := proto.Marshal(call)
	if err != nil {
		k.t.Fatal(err)
	}
	k.send(b)
}

func (k *kongConn) read() ([]byte, error) {
	k.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	return readFrame(k.r, nil)
}

func (k *kongConn) mustRead() []byte {
	k.t.Helper()
	b, err := k.read()
	if err != nil {
		k.t.Fatal(err)
	}
	return b
}

func (k *kongConn) status() *pb.InstanceStatus {
	k.t.Helper()
	var ret pb.RpcReturn
	if err := proto.Unmarshal(k.mustRead(), &ret); err != nil {
		k.t.Fatal(err)
	}
	st := ret.GetInstanceStatus()
	if st == nil {
		k.t.Fatalf("answer %v has no instance status", &ret)
	}
	return st
}

func (k *kongConn) start(seq int64, config string) *pb.InstanceStatus {
	k.t.Helper()
	k.call(seq, &pb.RpcCall{Call: &pb.RpcCall_CmdStartInstance{CmdStartInstance: &pb.CmdStartInstance{Name: "modelgate", Config: []byte(config)}}})
	return k.status()
}

// closed checks that the server ended the connection without an answer:
// Kong's cue to start the instance again and retry.
func (k *kongConn) closed() {
	k.t.Helper()
	if b, err := k.read(); !errors.Is(err, io.EOF) {
		k.t.Fatalf("got %q, %v; want the connection closed", b, err)
	}
}

func TestStartInstanceTakesKongsSequence(t *testing.T) {
	_, path := startServer(t)
	k := dial(t, path)
	st := k.start(1, `{"__seq__": 7, "greeting": "hi"}`)
	if st.InstanceId != 7 || st.Name != "modelgate" || st.StartedAt == 0 {
		t.Fatalf("status %v, want instance 7 of modelgate", st)
	}
	st = k.start(2, `{"greeting": "hi"}`)
	if st.InstanceId <= 0 || st.InstanceId == 7 {
		t.Fatalf("status %v, want a new random id", st)
	}
	k.call(3, &pb.RpcCall{Call: &pb.RpcCall_CmdGetInstanceStatus{CmdGetInstanceStatus: &pb.CmdGetInstanceStatus{InstanceId: 7}}})
	if st := k.status(); st.InstanceId != 7 || st.Name != "---" {
		t.Fatalf("status %v, want instance 7 named ---", st)
	}
}

func TestHandleEventRunsThePhaseOverThePDK(t *testing.T) {
	_, path := startServer(t)
	k := dial(t, path)
	k.start(1, `{"__seq__": 3}`)
	k.call(2, &pb.RpcCall{Call: &pb.RpcCall_CmdHandleEvent{CmdHandleEvent: &pb.CmdHandleEvent{InstanceId: 3, EventName: "access"}}})
	k.answerMethod("PATCH")

	if m := string(k.mustRead()); m != "kong.response.set_header" {
		t.Fatalf("second PDK call %q, want kong.response.set_header", m)
	}
	var kv pb.KV
	if err := proto.Unmarshal(k.mustRead(), &kv); err != nil || kv.K != "X-Method" || kv.V.GetStringValue() != "PATCH" {
		t.Fatalf("set_header %v (%v), want X-Method: PATCH", &kv, err)
	}
	k.send(nil)

	if end := k.mustRead(); len(end) != 0 {
		t.Fatalf("after the handler %q, want the empty frame that ends the PDK calls", end)
	}
	var ret pb.RpcReturn
	if err := proto.Unmarshal(k.mustRead(), &ret); err != nil || ret.Sequence != 2 {
		t.Fatalf("event answer %v (%v), want sequence 2", &ret, err)
	}
	// The connection serves Kong's next call (Kong keeps it alive).
	k.call(3, &pb.RpcCall{Call: &pb.RpcCall_CmdGetInstanceStatus{CmdGetInstanceStatus: &pb.CmdGetInstanceStatus{InstanceId: 3}}})
	if st := k.status(); st.InstanceId != 3 {
		t.Fatalf("status %v, want instance 3", st)
	}
}

// TestExitEndsTheConnection: Kong never answers kong.response.exit; it
// records the answer and closes the connection, and go-pdk's Exit closes
// it too.
func TestExitEndsTheConnection(t *testing.T) {
	_, path := startServer(t)
	k := dial(t, path)
	k.start(1, `{"__seq__": 5, "greeting": "hello"}`)
	k.call(2, &pb.RpcCall{Call: &pb.RpcCall_CmdHandleEvent{CmdHandleEvent: &pb.CmdHandleEvent{InstanceId: 5, EventName: "access"}}})
	k.answerMethod("GET")
	if m := string(k.mustRead()); m != "kong.response.exit" {
		t.Fatalf("second PDK call %q, want kong.response.exit", m)
	}
	var exit pb.ExitArgs
	if err := proto.Unmarshal(k.mustRead(), &exit); err != nil {
		t.Fatal(err)
	}
	if exit.Status != 200 || string(exit.Body) != "hello" || exit.Headers.AsMap()["X-Method"] == nil {
		t.Fatalf("exit %v, want 200 hello with X-Method", &exit)
	}
	k.c.Close()
	// The next connection is served as usual.
	k = dial(t, path)
	k.call(3, &pb.RpcCall{Call: &pb.RpcCall_CmdGetInstanceStatus{CmdGetInstanceStatus: &pb.CmdGetInstanceStatus{InstanceId: 5}}})
	if st := k.status(); st.InstanceId != 5 {
		t.Fatalf("status %v, want instance 5", st)
	}
}

// answerMethod expects the handler's kong.request.get_method and answers it.
func (k *kongConn) answerMethod(method string) {
	k.t.Helper()
	if m := string(k.mustRead()); m != "kong.request.get_method" {
		k.t.Fatalf("first PDK call %q, want kong.request.get_method", m)
	}
	if args := k.mustRead(); len(args) != 0 {
		k.t.Fatalf("get_method args %q, want none", args)
	}
	answer, err := proto.Marshal(&pb.String{V: method})
	if err != nil {
		k.t.Fatal(err)
	}
	k.send(answer)
}

func TestUnknownInstanceClosesTheConnection(t *testing.T) {
	_, path := startServer(t)
	for name, call := range map[string]*pb.RpcCall{
		"event":  {Call: &pb.RpcCall_CmdHandleEvent{CmdHandleEvent: &pb.CmdHandleEvent{InstanceId: 9, EventName: "access"}}},
		"status": {Call: &pb.RpcCall_CmdGetInstanceStatus{CmdGetInstanceStatus: &pb.CmdGetInstanceStatus{InstanceId: 9}}},
		"close":  {Call: &pb.RpcCall_CmdCloseInstance{CmdCloseInstance: &pb.CmdCloseInstance{InstanceId: 9}}},
	} {
		t.Run(name, func(t *testing.T) {
			k := dial(t, path)
			k.call(1, call)
			k.closed()
		})
	}
	t.Run("phase the plugin lacks", func(t *testing.T) {
		k := dial(t, path)
		k.start(1, `{"__seq__": 4}`)
		k.call(2, &pb.RpcCall{Call: &pb.RpcCall_CmdHandleEvent{CmdHandleEvent: &pb.CmdHandleEvent{InstanceId: 4, EventName: "log"}}})
		k.closed()
	})
	t.Run("config that is not JSON", func(t *testing.T) {
		k := dial(t, path)
		k.call(1, &pb.RpcCall{Call: &pb.RpcCall_CmdStartInstance{CmdStartInstance: &pb.CmdStartInstance{Name: "modelgate", Config: []byte("{")}}})
		k.closed()
	})
	t.Run("frame over the bound", func(t *testing.T) {
		k := dial(t, path)
		k.c.Write([]byte{0xff, 0xff, 0xff, 0xff})
		k.closed()
	})
}

func TestCloseInstanceExpiresIdleOnes(t *testing.T) {
	s, path := startServer(t)
	k := dial(t, path)
	for seq := int64(1); seq <= 3; seq++ {
		k.start(seq, `{"__seq__": `+string(rune('0'+seq))+`}`)
	}
	long := time.Now().Add(-2 * instanceTimeout)
	s.mu.Lock()
	s.instances[2].started = long // idle since long ago
	s.instances[3].started = long
	s.instances[3].lastEvent.Store(time.Now().UnixNano()) // started long ago, in use now
	s.mu.Unlock()

	k.call(4, &pb.RpcCall{Call: &pb.RpcCall_CmdCloseInstance{CmdCloseInstance: &pb.CmdCloseInstance{InstanceId: 1}}})
	if st := k.status(); st.InstanceId != 1 {
		t.Fatalf("close answered %v, want instance 1's status", st)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.instances[1]; ok {
		t.Error("instance 1 is still there after its close")
	}
	if _, ok := s.instances[2]; ok {
		t.Error("instance 2, idle for two timeouts, was not expired")
	}
	if _, ok := s.instances[3]; !ok {
		t.Error("instance 3, with a recent event, was expired")
	}
}

// TestWritesWaitForTheNextRead checks the buffering: what the server
// writes reaches Kong when the server next reads, in one piece.
func TestWritesWaitForTheNextRead(t *testing.T) {
	a, b := socketPair(t)
	c := newFlushingConn(a)
	for _, part := range []string{"\x05\x00\x00\x00", "hello"} {
		if _, err := c.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	buf := make([]byte, 64)
	if n, err := b.Read(buf); n != 0 || !os.IsTimeout(err) {
		t.Fatalf("before the server reads, Kong got %q (%v); want nothing yet", buf[:n], err)
	}
	go c.Read(make([]byte, 1))
	b.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := b.Read(buf)
	if err != nil || string(buf[:n]) != "\x05\x00\x00\x00hello" {
		t.Fatalf("once the server reads, Kong got %q (%v); want the whole frame in one read", buf[:n], err)
	}
	b.Write([]byte{0}) // lets the pending Read return
}

func socketPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "pair.socket"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	b, err := net.Dial("unix", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a := <-accepted
	if a == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// pipelinePlugin asks for the method and the path in one round trip and
// puts them in a header.
type pipelinePlugin struct{}

func (*pipelinePlugin) Access(*pdk.PDK) {}

func (*pipelinePlugin) AccessConn(kong *pdk.PDK, conn Conn) {
	var method, path pb.String
	if err := conn.Pipeline(
		Call{Method: "kong.request.get_method", Out: &method},
		Call{Method: "kong.request.get_path_with_query", Args: &pb.Int{V: 7}, Out: &path},
	); err != nil {
		return
	}
	_ = kong.Response.SetHeader("X-Seen", method.V+" "+path.V)
}

// TestPipelineSendsTheCallsTogether plays Kong reading both calls' frames
// before it answers either: that only completes when the plugin sent the
// second call without waiting for the first answer.
func TestPipelineSendsTheCallsTogether(t *testing.T) {
	_, path := startServerOf(t, func() any { return &pipelinePlugin{} })
	k := dial(t, path)
	k.start(1, `{"__seq__": 2}`)
	k.call(2, &pb.RpcCall{Call: &pb.RpcCall_CmdHandleEvent{CmdHandleEvent: &pb.CmdHandleEvent{InstanceId: 2, EventName: "access"}}})
	var frames []string
	for range 4 {
		frames = append(frames, string(k.mustRead()))
	}
	var n pb.Int
	if err := proto.Unmarshal([]byte(frames[3]), &n); err != nil || n.V != 7 {
		t.Fatalf("the second call's arguments %q (%v), want Int 7", frames[3], err)
	}
	if frames[0] != "kong.request.get_method" || frames[1] != "" || frames[2] != "kong.request.get_path_with_query" {
		t.Fatalf("frames %q, want get_method with no arguments, then get_path_with_query", frames)
	}
	for _, v := range []string{"POST", "/v2/models?x=1"} {
		answer, _ := proto.Marshal(&pb.String{V: v})
		k.send(answer)
	}
	if m := string(k.mustRead()); m != "kong.response.set_header" {
		t.Fatalf("next PDK call %q, want kong.response.set_header", m)
	}
	var kv pb.KV
	if err := proto.Unmarshal(k.mustRead(), &kv); err != nil || kv.V.GetStringValue() != "POST /v2/models?x=1" {
		t.Fatalf("set_header %v (%v), want the two answers in order", &kv, err)
	}
}

// failingOnce is a real listener whose first Accept fails as one does when
// the process is out of file descriptors.
type failingOnce struct {
	net.Listener
	failed bool
}

func (l *failingOnce) Accept() (net.Conn, error) {
	if !l.failed {
		l.failed = true
		return nil, &net.OpError{Op: "accept", Net: "unix", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// TestServeSurvivesAFailedAccept: the server keeps serving Kong after an
// accept fails, where go-pdk's exits.
func TestServeSurvivesAFailedAccept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "modelgate.socket")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- New(func() any { return &testPlugin{} }).Serve(&failingOnce{Listener: l}) }()
	k := dial(t, path)
	if st := k.start(1, `{"__seq__": 8}`); st.InstanceId != 8 {
		t.Fatalf("status %v, want instance 8", st)
	}
	l.Close()
	if err := <-done; err != nil {
		t.Fatalf("Serve after its listener closed: %v, want nil", err)
	}
}

// TestMoreConnectionsThanWorkers holds more connections open at once than
// the server keeps workers: each still gets its answers.
func TestMoreConnectionsThanWorkers(t *testing.T) {
	_, path := startServer(t)
	first := dial(t, path)
	first.start(1, `{"__seq__": 6}`)
	ks := []*kongConn{first}
	for len(ks) < connWorkers+8 {
		ks = append(ks, dial(t, path))
	}
	for i, k := range ks {
		k.call(int64(i+2), &pb.RpcCall{Call: &pb.RpcCall_CmdGetInstanceStatus{CmdGetInstanceStatus: &pb.CmdGetInstanceStatus{InstanceId: 6}}})
	}
	for i, k := range ks {
		if st := k.status(); st.InstanceId != 6 {
			t.Fatalf("connection %d: status %v, want instance 6", i, st)
		}
	}
}
