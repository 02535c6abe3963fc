package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/modelgate/modelgate/shared/pb"
)

// probe implements `modelgate-sidecar probe --socket PATH [--ready]` for
// container health checks: exit 0 when the sidecar is live (ready), 1 when
// not, 2 on bad usage.
func probe(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("modelgate-sidecar probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "", "the sidecar's unix socket (required)")
	ready := fs.Bool("ready", false, "check readiness (every wanted model version loaded) instead of liveness")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *socket == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: modelgate-sidecar probe --socket PATH [--ready] [--timeout DUR]")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := grpc.NewClient("unix:"+*socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(stderr, "probe:", err)
		return 1
	}
	defer conn.Close()
	c := pb.NewInferenceClient(conn)
	if *ready {
		resp, err := c.ServerReady(ctx, &pb.ServerReadyRequest{}, grpc.WaitForReady(true))
		if err != nil || !resp.Ready {
			fmt.Fprintf(stderr, "probe: not ready (%v)\n", errOr(err, "some model versions are not loaded"))
			return 1
		}
		return 0
	}
	if resp, err := c.ServerLive(ctx, &pb.ServerLiveRequest{}, grpc.WaitForReady(true)); err != nil || !resp.Live {
		fmt.Fprintf(stderr, "probe: not live (%v)\n", errOr(err, "the sidecar says it is not live"))
		return 1
	}
	return 0
}

func errOr(err error, msg string) string {
	if err != nil {
		return err.Error()
	}
	return msg
}
