package kongharness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	kpp "github.com/Kong/go-pdk/server/kong_plugin_protocol"
	"google.golang.org/protobuf/proto"
)

// Options configure Start.
type Options struct {
	// Prefix is Kong's prefix folder (the socket goes there); empty means a
	// fresh temporary folder, removed by Close.
	Prefix string
	// Dir is the plugin server's working folder (relative paths in the
	// plugin config, such as sidecar.command, resolve from it).
	Dir string
	// Environ is the environment Kong runs with; nil means this process's.
	// The plugin server gets only what Kong's nginx passes on (WorkerEnv):
	// TZ and the variables KONG_NGINX_MAIN_ENV names.
	Environ []string
	// Env is added to Kong's environment (so it reaches the plugin server
	// only through KONG_NGINX_MAIN_ENV, as under Kong).
	Env []string
	// Output receives the plugin server's stdout and stderr (Kong copies
	// them into its error log); nil discards them.
	Output io.Writer
	// StartTimeout bounds the wait for the socket; default 30 s.
	StartTimeout time.Duration
}

// Server is a plugin server process started as Kong starts it.
type Server struct {
	// Socket is the unix socket Kong talks to: Prefix/<binary name>.socket.
	Socket string
	// Prefix is Kong's prefix folder.
	Prefix string

	cmd      *exec.Cmd
	rejected rejectionLog
	tmp      bool
	exited   chan struct{}
	exitErr  error
	seq      atomic.Int64
	closeMux sync.Once
}

// Start runs `binary -kong-prefix PREFIX` and waits until its socket accepts
// connections.
func Start(ctx context.Context, binary string, opts Options) (*Server, error) {
	return start(ctx, binary, opts, nil)
}

// start is Start; with replacing, the socket to wait for is the one the new
// server puts in place of the file replacing describes (the old server
// still answers on that one).
func start(ctx context.Context, binary string, opts Options, replacing os.FileInfo) (*Server, error) {
	s := &Server{Prefix: opts.Prefix, exited: make(chan struct{})}
	if s.Prefix == "" {
		dir, err := os.MkdirTemp("", "kong-prefix-")
		if err != nil {
			return nil, err
		}
		s.Prefix, s.tmp = dir, true
	}
	s.Socket = filepath.Join(s.Prefix, filepath.Base(binary)+".socket")
	s.cmd = exec.Command(binary, "-kong-prefix", s.Prefix)
	s.cmd.Dir = opts.Dir
	s.cmd.Env = WorkerEnv(opts.kongEnv())
	out := opts.Output
	if out == nil {
		out = io.Discard
	}
	s.rejected.out = out
	s.cmd.Stdout, s.cmd.Stderr = &s.rejected, &s.rejected
	if err := s.cmd.Start(); err != nil {
		s.cleanup()
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	go func() {
		s.exitErr = s.cmd.Wait()
		close(s.exited)
	}()
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		st, err := os.Stat(s.Socket)
		if err == nil && (replacing == nil || !os.SameFile(st, replacing)) {
			var c net.Conn
			if c, err = net.DialTimeout("unix", s.Socket, time.Second); err == nil {
				c.Close()
				return s, nil
			}
		}
		select {
		case <-s.exited:
			s.cleanup()
			return nil, fmt.Errorf("%s exited before listening on %s: %v", binary, s.Socket, s.exitErr)
		case <-ctx.Done():
			s.Close()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("%s did not listen on %s within %s", binary, s.Socket, timeout)
		}
	}
}

// Pid is the plugin server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Close stops the plugin server as Kong does (SIGTERM, then SIGKILL after
// 10 s) and removes a temporary prefix.
func (s *Server) Close() error {
	var err error
	s.closeMux.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
			err = errors.New("plugin server ignored SIGTERM for 10s; killed")
		}
		s.cleanup()
	})
	return err
}

func (s *Server) cleanup() {
	if s.tmp {
		_ = os.RemoveAll(s.Prefix)
	}
}

// call sends one RpcCall on a fresh connection and reads its RpcReturn,
// for the calls that run no PDK loop (start and close instance).
func (s *Server) call(ctx context.Context, c *kpp.RpcCall) (*kpp.RpcReturn, error) {
	conn, err := s.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	c.Sequence = s.seq.Add(1)
	if err := writeMessage(conn, c); err != nil {
		return nil, err
	}
	data, err := readFrame(conn)
	if err != nil {
		// go-pdk closes the connection without an answer when a command
		// fails (e.g. a config its JSON decoder refuses).
		return nil, fmt.Errorf("plugin server closed the connection without answering: %w", err)
	}
	var ret kpp.RpcReturn
	if err := proto.Unmarshal(data, &ret); err != nil {
		return nil, fmt.Errorf("decoding RpcReturn: %w", err)
	}
	if ret.Sequence != c.Sequence {
		return nil, fmt.Errorf("RpcReturn sequence %d, want %d", ret.Sequence, c.Sequence)
	}
	return &ret, nil
}

func (s *Server) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", s.Socket)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	return conn, nil
}

// Instance is a started plugin instance.
type Instance struct {
	ID int32
	// Seq is the __seq__ Kong sent with the config.
	Seq int64
}

// StartInstance sends cmd_start_instance for plugin name with config (any
// JSON-encodable value, usually the plugin's `config` from kong.yml), after
// adding the fields Kong adds: __seq__ (go-pdk uses it as the instance id),
// __key__ and __plugin_id.
func (s *Server) StartInstance(ctx context.Context, name string, config any) (*Instance, error) {
	raw, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("encoding the config: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("the config must be a JSON object")
	}
	seq := s.seq.Add(1)
	id := newUUID()
	m["__seq__"] = seq
	m["__plugin_id"] = id
	m["__key__"] = "plugins:" + id + "::::"
	raw, _ = json.Marshal(m)
	ret, err := s.call(ctx, &kpp.RpcCall{Call: &kpp.RpcCall_CmdStartInstance{
		CmdStartInstance: &kpp.CmdStartInstance{Name: name, Config: raw},
	}})
	if err != nil {
		return nil, fmt.Errorf("cmd_start_instance: %w", err)
	}
	st := ret.GetInstanceStatus()
	if st == nil {
		return nil, errors.New("cmd_start_instance: no instance status in the answer")
	}
	return &Instance{ID: st.InstanceId, Seq: seq}, nil
}

// CloseInstance sends cmd_close_instance.
func (s *Server) CloseInstance(ctx context.Context, id int32) error {
	_, err := s.call(ctx, &kpp.RpcCall{Call: &kpp.RpcCall_CmdCloseInstance{
		CmdCloseInstance: &kpp.CmdCloseInstance{InstanceId: id},
	}})
	return err
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
