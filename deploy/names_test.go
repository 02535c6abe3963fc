package deploy

// The names every part of a deployment must agree on (../tmp/team/BRIEF.md's
// "Fixed names", ../shared/DESIGN.md). Each check below compares a file
// against these, so a rename shows up as one failing test per file that
// still has the old name.
const (
	pluginName = "modelgate"

	pluginServerBin = "/usr/local/bin/modelgate"
	sidecarBin      = "/usr/local/bin/modelgate-sidecar"

	// pluginServerSocket is where go-pdk's server listens by default
	// (-kong-prefix /usr/local/kong, then <prefix>/<binary name>.socket).
	pluginServerSocket = "/usr/local/kong/modelgate.socket"
	pluginServerQuery  = pluginServerBin + " -dump"
	pluginServerStart  = pluginServerBin + " -kong-prefix /usr/local/kong"

	socketDir    = "/run/modelgate"
	socketPath   = socketDir + "/sidecar.sock"
	socketVolume = "modelgate-socket"

	// secretsDir is where compose secrets and the Kubernetes Secret land in
	// the Kong container; deploy/kong/kong.yml's file: references point into it.
	secretsDir = "/etc/modelgate/secrets"

	proxyPort          = 8000
	statusPort         = 8100
	sidecarMetricsPort = 8002
	pluginMetricsPort  = 9542

	redisService = "redis"
	redisPort    = 6379
)

// sidecarFlags are modelgate-sidecar's flags from the team brief, for the
// serving command and for `probe`. The tests also ask the built binary
// (--help) and require both to know every flag a deployment file uses.
var sidecarFlags = map[string]bool{
	"models": true, "socket": true, "metrics-addr": true, "poll-interval": true,
	"intra-op-threads": true, "max-message-bytes": true, "max-elements": true,
	"ort-lib": true, "log-level": true,
	"registry": true, "registry-models": true, "registry-key": true, "registry-interval": true,
}

var probeFlags = map[string]bool{"socket": true, "ready": true}
