package server

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared"
	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/sidecar/internal/testmodels"
)

// The gRPC hop against the floor under it: the same ModelInfer (same
// protobuf messages, same server, the adder, batching off) over a unix
// socket, once through gRPC (HTTP/2 framing, the sidecar's flow-control
// settings) and once with each message as a 4-byte length and its bytes,
// one write each way. The difference is what a leaner framing over the
// same socket would save per request; client and server share the process,
// as they share the machine in production.

func BenchmarkSocketGRPC(b *testing.B) { benchSocketGRPC(b, false, 1) }

// BenchmarkSocketGRPCStream is the same call through the client the
// gateway uses: ModelInfer over one ModelStreamInfer stream.
func BenchmarkSocketGRPCStream(b *testing.B) { benchSocketGRPC(b, true, 1) }

// The same from 64 callers at once, as the gateway calls at 64 clients.
func BenchmarkSocketGRPC64(b *testing.B)       { benchSocketGRPC(b, false, 64) }
func BenchmarkSocketGRPCStream64(b *testing.B) { benchSocketGRPC(b, true, 64) }

func benchSocketGRPC(b *testing.B, stream bool, callers int) {
	srv, _ := benchServer(b)
	conn, _ := socketConn(b, srv)
	c := pb.NewInferenceClient(conn)
	if stream {
		sc := shared.NewStreamingClient(c, 0)
		b.Cleanup(sc.Close)
		c = sc
	}
	req := adderRequest("3", 1)
	ctx := context.Background()
	call := func() {
		res, err := c.ModelInfer(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Outputs) != 2 {
			b.Fatalf("%d outputs", len(res.Outputs))
		}
	}
	call()
	b.ReportAllocs()
	defer reportCPU(b)()
	b.ResetTimer()
	testutil.RunClients(b, callers, call)
}

func BenchmarkSocketFrames(b *testing.B) {
	srv, sock := benchServer(b)
	lis, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { lis.Close() })
	go func() {
		conn, err := lis.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		var buf []byte
		for {
			msg, err := readFrame(conn, &buf)
			if err != nil {
				return
			}
			req := &pb.ModelInferRequest{}
			if proto.Unmarshal(msg, req) != nil {
				return
			}
			resp, err := srv.ModelInfer(context.Background(), req)
			if err != nil {
				return
			}
			if writeFrame(conn, resp) != nil {
				return
			}
		}
	}()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	req := adderRequest("3", 1)
	var buf []byte
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if err := writeFrame(conn, req); err != nil {
			b.Fatal(err)
		}
		msg, err := readFrame(conn, &buf)
		if err != nil {
			b.Fatal(err)
		}
		resp := &pb.ModelInferResponse{}
		if err := proto.Unmarshal(msg, resp); err != nil {
			b.Fatal(err)
		}
		if len(resp.Outputs) != 2 {
			b.Fatalf("%d outputs", len(resp.Outputs))
		}
	}
}

// reportCPU reports the process's CPU time (user + system, every thread:
// client and server) per iteration, steadier than wall time on a shared
// machine; call the returned func when the loop ends.
func reportCPU(b *testing.B) func() {
	start := cpuTime(b)
	return func() {
		b.ReportMetric(float64((cpuTime(b)-start).Microseconds())/float64(b.N), "cpu-µs/op")
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchServer(b *testing.B) (*Server, string) {
	s, _ := newServer(b, 0, "adder")
	testmodels.WriteFile(b, filepath.Join(s.repo.Dir(), "adder", "config.yaml"), "max_batch_size: 8\n")
	if _, err := s.LoadModel(context.Background(), &pb.LoadModelRequest{Name: "adder"}); err != nil {
		b.Fatal(err)
	}
	return s, filepath.Join(b.TempDir(), "s.sock")
}

// writeFrame writes m as a 4-byte little-endian length and its bytes, in
// one write.
func writeFrame(w io.Writer, m proto.Message) error {
	frame, err := proto.MarshalOptions{}.MarshalAppend(make([]byte, 4, 4+proto.Size(m)), m)
	if err != nil {
		return err
	}
	binary.LittleEndian.PutUint32(frame, uint32(len(frame)-4))
	_, err = w.Write(frame)
	return err
}

// readFrame reads one frame into *buf (grown as needed; test frames are
// the benchmark's own, so their length is trusted).
func readFrame(r io.Reader, buf *[]byte) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := int(binary.LittleEndian.Uint32(n[:]))
	if cap(*buf) < size {
		*buf = make([]byte, size)
	}
	msg := (*buf)[:size]
	_, err := io.ReadFull(r, msg)
	return msg, err
}
