// Package trust is what the node's operator allows a plugin config to do.
//
// Some config fields run code, read files or open listeners: the sidecar's
// command, flags and environment, metrics.addr, the Redis address the
// password is sent to. Under Kong with an Admin API, RBAC or `POST /config`,
// whoever edits the plugin config would own the node through them. So they
// are bounded by settings outside kong.yml: environment variables of the
// plugin server, which under Kong reach it only when KONG_NGINX_MAIN_ENV
// names them. The defaults keep a plain install working: the sidecar next
// to the plugin server's own binary, listeners on loopback, any Redis.
package trust

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/modelgate/modelgate/internal/pathbound"
)

// The operator's settings.
const (
	// EnvSidecarCommands lists, separated by ":", further sidecar binaries
	// (absolute paths) that sidecar.command may name.
	EnvSidecarCommands = "MODELGATE_ALLOW_SIDECAR_COMMANDS"
	// EnvSidecarFlags lists, separated by ",", the sidecar flags that load
	// code, write files or open listeners that sidecar.args may use
	// (ort-lib, cpuprofile, socket, metrics-addr), or "all".
	EnvSidecarFlags = "MODELGATE_ALLOW_SIDECAR_FLAGS"
	// EnvListen lists, separated by ",", the non-loopback addresses
	// metrics.addr may take (as written in the config, e.g. ":9542"), or "*".
	EnvListen = "MODELGATE_ALLOW_LISTEN"
	// EnvRedis lists, separated by ",", the Redis addresses quotas.redis.addr
	// may name (the password is sent there); unset allows any.
	EnvRedis = "MODELGATE_ALLOW_REDIS"
	// EnvSidecarPassEnv lists, separated by ",", further variables of the
	// plugin server's environment a launched sidecar gets (it gets only
	// what ONNX Runtime, CUDA and the model key need: shared.LaunchConfig).
	EnvSidecarPassEnv = "MODELGATE_SIDECAR_PASS_ENV"
	// EnvSecretDirs lists, separated by ":", further folders (absolute
	// paths) that file: references, attach mode's sidecar.socket and the
	// sidecar's --models may name.
	EnvSecretDirs = "MODELGATE_SECRET_DIRS"
)

// The folders the plugin config may name without an allowance.
const (
	// DefaultSecretDir is where secrets, sockets and models may always be.
	DefaultSecretDir = "/etc/modelgate"
	// DefaultSocketDir is where attach mode's socket may always be (the
	// image, compose and Kubernetes share it there).
	DefaultSocketDir = "/run/modelgate"
)

// DefaultSidecar is the sidecar.command that needs no allowance: the binary
// of that name in the plugin server's own folder.
const DefaultSidecar = "modelgate-sidecar"

// Policy is the operator's settings, read once per config build.
type Policy struct {
	// Executable is the plugin server's own binary; DefaultSidecar lives
	// next to it.
	Executable string
	// SidecarCommands are further allowed sidecar binaries.
	SidecarCommands []string
	// SidecarFlags are the allowed guarded flags; "all" allows every one.
	SidecarFlags []string
	// Listen are the allowed non-loopback listen addresses; "*" allows any.
	Listen []string
	// Redis are the allowed Redis addresses; nil allows any.
	Redis []string
	// SidecarPassEnv are further variables a launched sidecar inherits.
	SidecarPassEnv []string
	// ORTLib is the operator's $ORT_LIB: --ort-lib may name that library
	// without an allowance, it is the one the sidecar would load anyway.
	ORTLib string
	// SecretDirs are further folders the config's paths may name.
	SecretDirs []string
	// ConfigFolder is the config's own folder, where it is known (see
	// WithConfigFolder).
	ConfigFolder string
	// RelativeTo is the folder the config's relative paths are taken
	// from, where it is not the working directory: modelgate check, run
	// anywhere, reads a kong.yml as the process in its folder would.
	RelativeTo string
}

// FromEnv reads the policy from this process's environment.
func FromEnv() Policy {
	exe, _ := os.Executable()
	return Policy{
		Executable:      exe,
		SidecarCommands: list(os.Getenv(EnvSidecarCommands), ":"),
		SidecarFlags:    list(os.Getenv(EnvSidecarFlags), ","),
		Listen:          list(os.Getenv(EnvListen), ","),
		Redis:           list(os.Getenv(EnvRedis), ","),
		SidecarPassEnv:  list(os.Getenv(EnvSidecarPassEnv), ","),
		ORTLib:          os.Getenv("ORT_LIB"),
		SecretDirs:      list(os.Getenv(EnvSecretDirs), ":"),
	}
}

// WithConfigFolder returns p with dir, the folder the config comes from,
// allowed for the config's paths: kong.yml's folder for modelgate serve and
// modelgate check, the plugin server's working directory under Kong
// (core.SetConfigFolder says why). "/" allows nothing: it would allow
// every file.
func (p Policy) WithConfigFolder(dir string) Policy {
	if dir != "" {
		if abs, err := filepath.Abs(dir); err == nil && abs != "/" {
			p.ConfigFolder = abs
		}
	}
	return p
}

// InFolderOf returns p for a config file read from anywhere as the process
// in its folder would read it (modelgate check): the file's folder is the
// config's own, and relative paths are taken from it.
func (p Policy) InFolderOf(file string) Policy {
	p = p.WithConfigFolder(filepath.Dir(file))
	p.RelativeTo = p.ConfigFolder
	return p
}

// Path is path as the config means it: a relative path is RelativeTo's.
func (p Policy) Path(path string) string {
	if p.RelativeTo != "" && !filepath.IsAbs(path) {
		return filepath.Join(p.RelativeTo, path)
	}
	return path
}

// SecretFolders are the folders file: references may resolve into (after
// symlinks): DefaultSecretDir, the config's own folder and EnvSecretDirs'.
func (p Policy) SecretFolders() pathbound.Folders {
	f := pathbound.Folders{DefaultSecretDir}
	if p.ConfigFolder != "" {
		f = append(f, p.ConfigFolder)
	}
	return append(f, p.SecretDirs...)
}

// SocketFolders are the folders attach mode's sidecar.socket may lie in:
// DefaultSocketDir and the SecretFolders.
func (p Policy) SocketFolders() pathbound.Folders {
	return append(pathbound.Folders{DefaultSocketDir}, p.SecretFolders()...)
}

// CheckModels reports whether the sidecar's --models folder lies in the
// SecretFolders: a launched sidecar loads every graph under it into ONNX
// Runtime.
func (p Policy) CheckModels(dir string) error {
	_, err := p.SecretFolders().Resolve(p.Path(dir))
	return folderError(err)
}

// folderError adds how an operator widens the bound to a refusal.
func folderError(err error) error {
	if errors.Is(err, pathbound.ErrOutside) {
		return fmt.Errorf("%w; the operator lists further folders in %s", err, EnvSecretDirs)
	}
	return err
}

// CheckSocket reports whether attach mode's sidecar.socket lies in the
// SocketFolders: the plugin server would speak gRPC to whatever listens
// there.
func (p Policy) CheckSocket(path string) error {
	_, err := p.SocketFolders().Resolve(p.Path(path))
	return folderError(err)
}

// CheckSecretFile reports whether a file: reference's path lies in the
// SecretFolders. A file that does not exist is not this check's problem.
func (p Policy) CheckSecretFile(path string) error {
	_, err := p.SecretFolders().Resolve(p.Path(path))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return folderError(err)
}

func list(s, sep string) []string {
	var out []string
	for _, f := range strings.Split(s, sep) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// SidecarCommand returns the binary to run for sidecar.command, or why it
// may not run: DefaultSidecar means the one next to the plugin server's
// binary (not a PATH lookup, which the environment could redirect); any
// other command must be one of the allowed paths.
func (p Policy) SidecarCommand(command string) (string, error) {
	beside := filepath.Join(filepath.Dir(p.Executable), DefaultSidecar)
	if command == DefaultSidecar {
		return beside, nil
	}
	abs, err := filepath.Abs(command)
	if err != nil {
		return "", err
	}
	if abs == beside {
		return abs, nil
	}
	for _, allowed := range p.SidecarCommands {
		if filepath.IsAbs(allowed) && filepath.Clean(allowed) == abs {
			return abs, nil
		}
	}
	return "", fmt.Errorf("%q is not allowed: only %s next to the plugin server's binary (%s), or a path the operator lists in %s",
		command, DefaultSidecar, beside, EnvSidecarCommands)
}

// sidecarFlags are modelgate-sidecar's flags (sidecar/cmd/modelgate-sidecar
// main.go): whether each takes a value, and whether it is guarded (loads
// code, writes a file, opens a listener or socket, or widens the files it
// reads: --key-dirs).
var sidecarFlags = map[string]struct{ value, guarded bool }{
	"models":               {value: true},
	"idle-exit":            {value: true},
	"poll-interval":        {value: true},
	"intra-op-threads":     {value: true},
	"instances":            {value: true},
	"max-message-bytes":    {value: true},
	"max-elements":         {value: true},
	"log-level":            {value: true},
	"allow-spinning":       {},
	"require-bound-models": {},
	"beside-gateway":       {},
	"registry-models":      {value: true},
	"registry-plain-http":  {},
	"registry-key":         {value: true},
	"registry-interval":    {value: true},
	"registry":             {value: true, guarded: true},
	"ort-lib":              {value: true, guarded: true},
	"cpuprofile":           {value: true, guarded: true},
	"socket":               {value: true, guarded: true},
	"key-dirs":             {value: true, guarded: true},
	"metrics-addr":         {value: true, guarded: true},
}

// CheckSidecarArgs reports every problem with sidecar.args: anything but a
// known flag (a subcommand such as encrypt, a stray word, an unknown flag),
// and a guarded flag the operator did not allow. --ort-lib naming $ORT_LIB
// and --metrics-addr on an allowed listen address need no allowance.
func (p Policy) CheckSidecarArgs(args []string) []ArgError {
	var errs []ArgError
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		f, known := sidecarFlags[name]
		switch {
		case !strings.HasPrefix(a, "-") || a == "-" || a == "--":
			errs = append(errs, argError(i, "%q is not a flag (no subcommands or other words)", a))
			continue
		case !known:
			errs = append(errs, argError(i, "%q is not a modelgate-sidecar flag this config may set", a))
			continue
		}
		at := i
		if f.value && !hasValue {
			if i+1 >= len(args) {
				errs = append(errs, argError(i, "%s needs a value", a))
				continue
			}
			i++
			value = args[i]
		}
		if f.guarded && !p.allowsFlag(name, value) {
			errs = append(errs, argError(at, "--%s loads code, writes files or listens; allowed only when the operator lists %q in %s", name, name, EnvSidecarFlags))
		}
	}
	return errs
}

// ArgError is a problem with the sidecar argument at Index.
type ArgError struct {
	Index  int
	Reason string
}

func (e ArgError) Error() string { return fmt.Sprintf("args[%d]: %s", e.Index, e.Reason) }

func argError(i int, format string, args ...any) ArgError {
	return ArgError{Index: i, Reason: fmt.Sprintf(format, args...)}
}

func (p Policy) allowsFlag(name, value string) bool {
	if slices.Contains(p.SidecarFlags, "all") || slices.Contains(p.SidecarFlags, name) {
		return true
	}
	switch name {
	case "ort-lib":
		return p.ORTLib != "" && filepath.Clean(value) == filepath.Clean(p.ORTLib)
	case "metrics-addr":
		return value == "" || p.CheckListen(value) == nil
	}
	return false
}

// CheckListen reports whether a listener may take addr: loopback always,
// any other address (":9542" is every interface) only when allowed.
func (p Policy) CheckListen(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	if slices.Contains(p.Listen, "*") || slices.Contains(p.Listen, addr) {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address; listening there needs the operator to list it in %s", addr, EnvListen)
}

// CheckRedis reports whether the Redis password may be sent to addr: the
// configured address, and in a Redis Cluster every node address the
// cluster reports. An allowed entry is an address as written
// ("redis:6379") or a network in CIDR form ("10.42.0.0/16": any port on
// those IPs, for cluster nodes whose pod IPs change). With no allow list
// every address is allowed; RedisUnbounded says so, for a warning.
func (p Policy) CheckRedis(addr string) error {
	if p.Redis == nil || slices.Contains(p.Redis, addr) {
		return nil
	}
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip != nil {
			for _, allowed := range p.Redis {
				if _, network, err := net.ParseCIDR(allowed); err == nil && network.Contains(ip) {
					return nil
				}
			}
		}
	}
	return fmt.Errorf("%q is not an allowed Redis address (the operator lists them in %s)", addr, EnvRedis)
}

// RedisUnbounded reports whether any Redis address is allowed.
func (p Policy) RedisUnbounded() bool { return p.Redis == nil }
