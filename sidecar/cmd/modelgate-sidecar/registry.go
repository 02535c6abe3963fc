package main

import (
	"errors"
	"flag"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelgate/modelgate/internal/registry"
	"github.com/modelgate/modelgate/sidecar/internal/registrysync"
)

// registryFlags serve the models from an OCI registry (the model registry
// center): pulled into --models, which the repository then loads as usual.
type registryFlags struct {
	namespace string
	models    string
	plainHTTP bool
	key       string
	interval  time.Duration
}

func (r *registryFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.namespace, "registry", "", "pull the models of --registry-models from this OCI registry namespace, REGISTRY/NAMESPACE, into --models (credentials: $DOCKER_CONFIG/config.json, else ~/.docker/config.json)")
	fs.StringVar(&r.models, "registry-models", "", "with --registry: the models to pull, comma-separated (each is REGISTRY/NAMESPACE/MODEL there; named, since many registries offer no catalog)")
	fs.BoolVar(&r.plainHTTP, "registry-plain-http", false, "talk HTTP, not HTTPS, to --registry")
	fs.StringVar(&r.key, "registry-key", "", "with --registry: pull only versions signed with this ECDSA P-256 public key (PEM; cosign's key-based format)")
	fs.DurationVar(&r.interval, "registry-interval", 30*time.Second, "with --registry: look for new versions this often (a failed look is retried sooner, with backoff)")
}

func (r *registryFlags) check() []error {
	var problems []error
	if (r.namespace == "") != (r.models == "") {
		problems = append(problems, errors.New("--registry and --registry-models go together"))
	}
	if r.namespace == "" && (r.plainHTTP || r.key != "") {
		problems = append(problems, errors.New("--registry-plain-http and --registry-key need --registry"))
	}
	if r.interval <= 0 {
		problems = append(problems, errors.New("--registry-interval must be positive"))
	}
	return problems
}

// syncer is nil without --registry.
func (r *registryFlags) syncer(models string, reg prometheus.Registerer, log *slog.Logger) (*registrysync.Syncer, error) {
	if r.namespace == "" {
		return nil, nil
	}
	client, err := registry.NewClient(r.plainHTTP)
	if err != nil {
		return nil, err
	}
	opts := registrysync.Options{Client: client, Namespace: strings.TrimSuffix(r.namespace, "/"),
		Models: strings.Split(r.models, ","), Dir: models, Registry: reg, Logger: log}
	if r.key != "" {
		b, err := os.ReadFile(r.key)
		if err != nil {
			return nil, err
		}
		if opts.Key, err = registry.ParsePublicKey(b); err != nil {
			return nil, errors.Join(errors.New("--registry-key "+r.key), err)
		}
	}
	return registrysync.New(opts)
}
