package shared

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/modelgate/modelgate/internal/version"
	"github.com/modelgate/modelgate/shared/pb"
)

// DefaultMaxMessageBytes is the gRPC message limit used when a config gives
// none: go-plugin's default (4 MiB) is too small for batched tensors.
const DefaultMaxMessageBytes = 64 << 20

// Default timeouts of a launched sidecar.
const (
	// DefaultStartTimeout covers the sidecar's first model load, which it
	// finishes before the handshake.
	DefaultStartTimeout = 2 * time.Minute
	// DefaultStopTimeout is how long Close waits for a launched sidecar to
	// drain after SIGTERM before killing it.
	DefaultStopTimeout = 30 * time.Second
)

// LaunchConfig says how to start a sidecar process.
type LaunchConfig struct {
	// Command is the modelgate-sidecar binary; Args its flags (--models ...).
	Command string
	Args    []string
	// Env is added to the environment the sidecar inherits (later entries
	// win). It inherits only what it needs of this process's environment
	// (ONNX Runtime, CUDA, locale, the model key: see inheritedEnv) and the
	// variables PassEnv names, never the rest (a plugin server's secrets).
	Env []string
	// PassEnv names further variables of this process's environment the
	// sidecar gets (e.g. a model config's encryption.key_env).
	PassEnv []string
	// MaxMessageBytes limits gRPC messages both ways (0 = DefaultMaxMessageBytes).
	MaxMessageBytes int
	// StartTimeout bounds the start, model loading included (0 =
	// DefaultStartTimeout); a sooner ctx deadline wins.
	StartTimeout time.Duration
	// StopTimeout bounds Close's drain (0 = DefaultStopTimeout).
	StopTimeout time.Duration
	// Logger receives go-plugin's messages and the sidecar's log lines at
	// their levels (nil = slog.Default()).
	Logger *slog.Logger
}

// Client is a connection to a sidecar, launched or attached. Its
// InferenceClient is safe for concurrent use. A Client never restarts or
// reconnects anything: the caller watches Exited (launch mode) or ServerLive
// and makes a new Client.
type Client struct {
	pb.InferenceClient
	streams     *StreamingClient // the InferenceClient: ModelInfer over a stream
	plugin      *plugin.Client
	conn        *grpc.ClientConn
	stopTimeout time.Duration

	closeOnce sync.Once
	closeErr  error
}

// Launch starts the sidecar through go-plugin and returns once it has
// completed the handshake (it loads its models before that).
func Launch(ctx context.Context, cfg LaunchConfig) (*Client, error) {
	if cfg.Command == "" {
		return nil, errors.New("launching sidecar: no command")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	start := cfg.StartTimeout
	if start <= 0 {
		start = DefaultStartTimeout
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < start {
		start = time.Until(dl)
	}
	cmd := exec.Command(cfg.Command, cfg.Args...)
	// go-plugin appends the host environment after cmd.Env unless told not
	// to (SkipHostEnv), which would let it override cfg.Env and hand the
	// sidecar everything; so the environment is assembled here instead.
	cmd.Env = launchEnv(os.Environ(), cfg.PassEnv, cfg.Env)
	// The sidecar logs why it cannot start (a missing models folder, no
	// ONNX Runtime) and exits; go-plugin then only says the handshake
	// failed, so the error quotes the sidecar's last error line.
	hlog := &hclogAdapter{log: logger, name: "sidecar", last: &lastError{}}
	pc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		Plugins:          PluginMap(nil),
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		GRPCDialOptions:  dialOptions(cfg.MaxMessageBytes),
		StartTimeout:     start,
		Logger:           hlog,
	})
	type result struct {
		c   pb.InferenceClient
		err error
	}
	done := make(chan result, 1)
	go func() {
		rpc, err := pc.Client()
		if err != nil {
			done <- result{err: err}
			return
		}
		raw, err := rpc.Dispense(PluginName)
		if err != nil {
			done <- result{err: err}
			return
		}
		c, ok := raw.(pb.InferenceClient)
		if !ok {
			done <- result{err: fmt.Errorf("plugin %q is a %T, not an inference client", PluginName, raw)}
			return
		}
		done <- result{c: c}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			// Kill waits for go-plugin's stderr reader, so the sidecar's
			// last line has been logged (and kept) once it returns.
			pc.Kill()
			if said := hlog.last.get(); said != "" {
				return nil, fmt.Errorf("launching sidecar %s: the sidecar exited saying %q: %w", cfg.Command, said, r.err)
			}
			return nil, fmt.Errorf("launching sidecar %s: %w", cfg.Command, r.err)
		}
		stop := cfg.StopTimeout
		if stop <= 0 {
			stop = DefaultStopTimeout
		}
		sc := NewStreamingClient(r.c, cfg.MaxMessageBytes)
		return &Client{InferenceClient: sc, streams: sc, plugin: pc, stopTimeout: stop}, nil
	case <-ctx.Done():
		pc.Kill()
		return nil, fmt.Errorf("launching sidecar %s: %w", cfg.Command, ctx.Err())
	}
}

// BuildMetadataKey is the gRPC metadata that carries a build (version.Build)
// between a plugin server and a sidecar: the client sends its own on the
// ServerLive call that attaches, the sidecar refuses a different build with
// FailedPrecondition and answers with its own, which the client checks in
// turn. Builds that differ may disagree on the contract in ways protobuf
// does not catch (a field's meaning, the shared socket's name), so they
// refuse each other instead.
const BuildMetadataKey = "modelgate-build"

// errBuildMismatch marks an attach refused by the build handshake.
var errBuildMismatch = errors.New("builds differ")

// Attach connects to a sidecar serving on a unix socket (standalone mode)
// and checks, within ctx, that it answers ServerLive and is of this build.
func Attach(ctx context.Context, socketPath string, maxMessageBytes int) (*Client, error) {
	return AttachAs(ctx, socketPath, maxMessageBytes, version.Build())
}

// AttachAs is Attach for a client that says it is build (tests play another
// build with it).
func AttachAs(ctx context.Context, socketPath string, maxMessageBytes int, build string) (*Client, error) {
	conn, err := grpc.NewClient("unix:"+socketPath,
		append(dialOptions(maxMessageBytes), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		return nil, fmt.Errorf("attaching to sidecar at %s: %w", socketPath, err)
	}
	sc := NewStreamingClient(pb.NewInferenceClient(conn), maxMessageBytes)
	c := &Client{InferenceClient: sc, streams: sc, conn: conn}
	var header metadata.MD
	ctx = metadata.AppendToOutgoingContext(ctx, BuildMetadataKey, build)
	if _, err := c.ServerLive(ctx, &pb.ServerLiveRequest{}, grpc.Header(&header)); err != nil {
		conn.Close()
		if status.Code(err) == codes.FailedPrecondition {
			err = errors.Join(errBuildMismatch, err)
		}
		return nil, fmt.Errorf("attaching to sidecar at %s: %w", socketPath, err)
	}
	theirs := header.Get(BuildMetadataKey)
	if len(theirs) != 1 {
		conn.Close()
		return nil, fmt.Errorf("attaching to sidecar at %s: %w: it reports no build (an older modelgate-sidecar?); this plugin server is build %s", socketPath, errBuildMismatch, build)
	}
	if err := version.Compatible(build, theirs[0]); err != nil {
		conn.Close()
		return nil, fmt.Errorf("attaching to sidecar at %s: %w: the sidecar is build %s, this plugin server build %s; run the sidecar of the same release", socketPath, errBuildMismatch, theirs[0], build)
	}
	return c, nil
}

// dialOptions sets the message limits to max and the flow-control windows
// to match. A static window turns off gRPC's bandwidth-delay-product
// estimator, which otherwise sends a PING with each answer's data and reads
// its ACK: without it the sidecar answers a request in one write (measured
// over the socket: about 1.8 -> 1.07 writes per request). The window is credit,
// not a buffer: memory still follows the bytes that arrive.
func dialOptions(max int) []grpc.DialOption {
	if max <= 0 {
		max = DefaultMaxMessageBytes
	}
	// gRPC keeps its default window and the estimator below 64 KiB.
	window := int32(min(max, math.MaxInt32))
	if window < 64<<10 {
		window = 64 << 10
	}
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(max), grpc.MaxCallSendMsgSize(max)),
		grpc.WithInitialWindowSize(window),
		grpc.WithInitialConnWindowSize(window),
	}
}

// Exited reports whether a launched sidecar's process has ended. An
// attached sidecar is another process's child: Exited is always false, and
// ServerLive tells whether it still answers.
func (c *Client) Exited() bool {
	return c.plugin != nil && c.plugin.Exited()
}

// Close ends the connection. A launched sidecar gets SIGTERM, so that it
// finishes the requests in flight, and is killed if it has not exited after
// the stop timeout. Close is idempotent: later calls return the first
// call's result.
func (c *Client) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

func (c *Client) close() error {
	// The inference stream ends last: a launched sidecar answers what it
	// holds while it drains.
	defer c.streams.Close()
	if c.conn != nil {
		return c.conn.Close()
	}
	if rc := c.plugin.ReattachConfig(); rc != nil && rc.Pid > 0 && !c.plugin.Exited() {
		if p, err := os.FindProcess(rc.Pid); err == nil && p.Signal(syscall.SIGTERM) == nil {
			deadline := time.Now().Add(c.stopTimeout)
			for !c.plugin.Exited() && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	c.plugin.Kill()
	return nil
}

// hclogAdapter lets go-plugin log through slog.
type hclogAdapter struct {
	log  *slog.Logger
	name string
	args []any
	last *lastError // shared by every copy made by With and Named
}

// lastError keeps the sidecar's latest error-level log line.
type lastError struct {
	mu   sync.Mutex
	line string
}

func (l *lastError) set(line string) {
	l.mu.Lock()
	l.line = line
	l.mu.Unlock()
}

func (l *lastError) get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.line
}

var _ hclog.Logger = (*hclogAdapter)(nil)

// Log maps hclog's levels onto slog's (Trace becomes Debug).
func (h *hclogAdapter) Log(level hclog.Level, msg string, args ...interface{}) {
	var l slog.Level
	switch {
	case level <= hclog.Debug: // Trace and Debug
		l = slog.LevelDebug
	case level == hclog.Info:
		l = slog.LevelInfo
	case level == hclog.Warn:
		l = slog.LevelWarn
	default:
		l = slog.LevelError
	}
	h.log.Log(context.Background(), l, msg, append(append([]any{"source", h.name}, h.args...), args...)...)
	// go-plugin names the sidecar's own stderr lines "sidecar.<binary>";
	// its own messages ("plugin process exited") keep the bare name.
	if l >= slog.LevelError && h.last != nil && h.name != "sidecar" {
		line := msg
		for i := 0; i+1 < len(args); i += 2 {
			if args[i] == "error" {
				line += ": " + fmt.Sprint(args[i+1])
			}
		}
		h.last.set(line)
	}
}

// The rest of hclog.Logger, on top of Log and the slog handler's level.

func (h *hclogAdapter) Trace(msg string, args ...interface{}) { h.Log(hclog.Trace, msg, args...) }
func (h *hclogAdapter) Debug(msg string, args ...interface{}) { h.Log(hclog.Debug, msg, args...) }
func (h *hclogAdapter) Info(msg string, args ...interface{})  { h.Log(hclog.Info, msg, args...) }
func (h *hclogAdapter) Warn(msg string, args ...interface{})  { h.Log(hclog.Warn, msg, args...) }
func (h *hclogAdapter) Error(msg string, args ...interface{}) { h.Log(hclog.Error, msg, args...) }

func (h *hclogAdapter) enabled(l slog.Level) bool { return h.log.Enabled(context.Background(), l) }
func (h *hclogAdapter) IsTrace() bool             { return h.enabled(slog.LevelDebug) }
func (h *hclogAdapter) IsDebug() bool             { return h.enabled(slog.LevelDebug) }
func (h *hclogAdapter) IsInfo() bool              { return h.enabled(slog.LevelInfo) }
func (h *hclogAdapter) IsWarn() bool              { return h.enabled(slog.LevelWarn) }
func (h *hclogAdapter) IsError() bool             { return h.enabled(slog.LevelError) }
func (h *hclogAdapter) ImpliedArgs() []interface{} {
	return h.args
}

func (h *hclogAdapter) With(args ...interface{}) hclog.Logger {
	return &hclogAdapter{log: h.log, name: h.name, args: append(append([]any(nil), h.args...), args...), last: h.last}
}
func (h *hclogAdapter) Name() string { return h.name }
func (h *hclogAdapter) Named(name string) hclog.Logger {
	return &hclogAdapter{log: h.log, name: h.name + "." + name, args: h.args, last: h.last}
}
func (h *hclogAdapter) ResetNamed(name string) hclog.Logger {
	return &hclogAdapter{log: h.log, name: name, args: h.args, last: h.last}
}

// SetLevel is a no-op: the slog handler decides.
func (h *hclogAdapter) SetLevel(hclog.Level) {}

func (h *hclogAdapter) GetLevel() hclog.Level {
	switch {
	case h.IsDebug():
		return hclog.Debug
	case h.IsInfo():
		return hclog.Info
	case h.IsWarn():
		return hclog.Warn
	default:
		return hclog.Error
	}
}

func (h *hclogAdapter) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(h.log.Handler(), slog.LevelInfo)
}

func (h *hclogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return slog.NewLogLogger(h.log.Handler(), slog.LevelInfo).Writer()
}
