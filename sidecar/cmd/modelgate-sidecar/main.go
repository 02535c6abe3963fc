// Command modelgate-sidecar serves a model repository with ONNX Runtime over
// a gRPC service on a unix socket: launched by the modelgate plugin server
// through go-plugin, or standalone with --socket for a sidecar container.
//
//	modelgate-sidecar --models DIR [--socket PATH] [--metrics-addr ADDR] ...
//	modelgate-sidecar probe --socket PATH [--ready]
//	modelgate-sidecar encrypt (--key-env NAME | --key-file PATH) MODELS/MODEL/VERSION
//	modelgate-sidecar --version [--ort-lib PATH]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// DefaultMaxMessageBytes is the gRPC message limit in both directions.
const DefaultMaxMessageBytes = 64 << 20

// flags are the serve command's options.
type flags struct {
	models          string
	socket          string
	idleExit        time.Duration
	besideGateway   bool
	metricsAddr     string
	pollInterval    time.Duration
	intraOpThreads  int
	allowSpinning   optionalBool
	instances       int
	maxMessageBytes int
	maxElements     int64
	ortLib          string
	logLevel        string
	cpuProfile      string
	requireBound    bool
	keyDirs         string
	version         bool
	registry        registryFlags
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "probe" {
		os.Exit(probe(os.Args[2:], os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "encrypt" {
		os.Exit(encrypt(os.Args[2:], os.Stderr))
	}
	f, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "modelgate-sidecar:", err)
		os.Exit(2)
	}
	if f.version {
		if err := writeVersion(os.Stdout, f.ortLib); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(serve(f))
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("modelgate-sidecar", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.models, "models", "", "model repository folder (required)")
	fs.StringVar(&f.socket, "socket", "", "serve standalone on this unix socket (e.g. /run/modelgate/sidecar.sock); without it the sidecar expects to be launched by the plugin server")
	fs.BoolVar(&f.besideGateway, "beside-gateway", false, "the node's cores are shared with the gateway (the plugin server sets it on a sidecar it launches): choose threads as for a launched sidecar")
	fs.DurationVar(&f.idleExit, "idle-exit", 0, "with --socket: exit once no client has been connected for this long (0 = never); the plugin server launches a sidecar shared across Kong generations with it")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve /metrics, /v2/health/live and /v2/health/ready on this address (e.g. :8002); empty = off")
	fs.DurationVar(&f.pollInterval, "poll-interval", 0, "rescan the model repository this often (0 = off; LoadModel/UnloadModel still work)")
	fs.IntVar(&f.intraOpThreads, "intra-op-threads", 0, "ONNX Runtime intra-op threads where a model config says 0 (0 = chosen from the cores, see the \"ONNX Runtime threads\" log line)")
	fs.Var(&f.allowSpinning, "allow-spinning", "let ONNX Runtime's intra-op threads spin-wait after a run (session.intra_op.allow_spinning) where a model config does not set instance_group.allow_spinning (default: chosen from the cores)")
	fs.IntVar(&f.instances, "instances", 0, "sessions per model version on the CPU where a model config sets no instance_group.count (0 = chosen from the cores)")
	fs.IntVar(&f.maxMessageBytes, "max-message-bytes", DefaultMaxMessageBytes, "largest gRPC message received or sent")
	fs.Int64Var(&f.maxElements, "max-elements", 16<<20, "largest element count of one tensor in a request (0 = no limit)")
	fs.StringVar(&f.ortLib, "ort-lib", "", "ONNX Runtime shared library (default $ORT_LIB, else libonnxruntime.so.1)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a Go CPU profile (pprof format) to this file from start until shutdown")
	fs.StringVar(&f.keyDirs, "key-dirs", "/etc/modelgate", "folders (separated by \":\") where a model's encryption.key_file may lie besides the model's own folder")
	fs.BoolVar(&f.requireBound, "require-bound-models", false, "refuse encrypted models that do not bind their model name and version (format 1; re-encrypt them with `modelgate-sidecar encrypt`)")
	f.registry.register(fs)
	fs.BoolVar(&f.version, "version", false, "print the version, the commit, the Go version, the ONNX Runtime API it needs and what the --ort-lib library offers, and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: modelgate-sidecar --models DIR [--socket PATH] [flags]\n       modelgate-sidecar probe --socket PATH [--ready]\n       modelgate-sidecar encrypt (--key-env NAME | --key-file PATH) MODELS/MODEL/VERSION\n       modelgate-sidecar --version [--ort-lib PATH]\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	if f.ortLib == "" {
		f.ortLib = os.Getenv("ORT_LIB")
	}
	if f.ortLib == "" {
		f.ortLib = "libonnxruntime.so.1"
	}
	if f.version {
		return f, nil
	}
	var problems []error
	if f.models == "" {
		problems = append(problems, errors.New("--models DIR is required"))
	}
	if f.pollInterval < 0 {
		problems = append(problems, errors.New("--poll-interval must not be negative"))
	}
	if f.idleExit < 0 || (f.idleExit > 0 && f.socket == "") {
		problems = append(problems, errors.New("--idle-exit must not be negative, and needs --socket"))
	}
	if f.maxMessageBytes < 1<<10 {
		problems = append(problems, errors.New("--max-message-bytes must be at least 1024"))
	}
	if f.maxElements < 0 || f.intraOpThreads < 0 || f.instances < 0 {
		problems = append(problems, errors.New("--max-elements, --intra-op-threads and --instances must not be negative"))
	}
	if _, err := parseLevel(f.logLevel); err != nil {
		problems = append(problems, err)
	}
	problems = append(problems, f.registry.check()...)
	return f, errors.Join(problems...)
}
