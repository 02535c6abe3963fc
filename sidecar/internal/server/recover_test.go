package server

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared/pb"
)

// panicky is the real server with one RPC that panics on a chosen model
// name, standing in for a bug: what is under test is the interceptor.
type panicky struct{ *Server }

func (p panicky) ModelInfer(ctx context.Context, req *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	if req.ModelName == "boom" {
		var m map[string]int
		m["bug"]++ // nil map write: a runtime panic
	}
	return p.Server.ModelInfer(ctx, req)
}

// TestRecoverFailsOneCall: a panicking call gets INTERNAL, the process and
// its other calls go on.
func TestRecoverFailsOneCall(t *testing.T) {
	srv, _ := newServer(t, 0, "adder")
	sock := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer(Recover(testutil.Logger(t))...)
	pb.RegisterInferenceServer(g, panicky{srv})
	go func() { _ = g.Serve(ln) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := pb.NewInferenceClient(conn)
	_, err = c.ModelInfer(t.Context(), &pb.ModelInferRequest{ModelName: "boom"})
	if status.Code(err) != codes.Internal {
		t.Fatalf("panicking call: %v, want INTERNAL", err)
	}
	resp, err := c.ModelInfer(t.Context(), adderRequest("1", 1))
	if err != nil {
		t.Fatalf("the call after the panic: %v", err)
	}
	if got := testutil.Float32s(output(t, resp, "sum").Raw); len(got) != 4 || got[0] != 11 {
		t.Fatalf("sum = %v", got)
	}
}
