package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/modelgate/modelgate/internal/registry"
)

// modelSection is the README section on the model registry.
const modelSection = "Model registry"

func modelCommand() command {
	return command{
		name:    "model",
		summary: "push, list and pull model versions in an OCI registry",
		synopsis: `modelgate model push VERSION_DIR REF [--plain-http]
       modelgate model ls REGISTRY/NAMESPACE[/MODEL] [--plain-http]
       modelgate model pull REF REPO_DIR [--plain-http]

  push  store VERSION_DIR (MODEL/VERSION of a model repository) and the model-level
        files it needs (config.yaml, its vocabulary, labels.txt, MODEL_CARD.md) as one
        artifact; REF is REGISTRY/NAMESPACE/MODEL[:VERSION], tagged with the version
  ls    list models, versions, digests and the model card's facts (catalog and tags APIs)
  pull  write the version REF names (:VERSION or @DIGEST) as REPO_DIR/MODEL/VERSION
        plus the model-level files, each verified against its digest

Credentials come from $DOCKER_CONFIG/config.json, else ~/.docker/config.json.

flags (before or after the arguments):
  --plain-http  talk HTTP, not HTTPS, to the registry (one without TLS)`,
		readme: modelSection,
		run:    runModel,
	}
}

// modelSubcommands take their positional arguments, n of them.
var modelSubcommands = map[string]struct {
	args int
	run  func(ctx context.Context, c *registry.Client, args []string, stdout io.Writer) error
}{
	"push": {2, modelPush},
	"ls":   {1, modelList},
	"pull": {2, modelPull},
}

func runModel(args []string) int {
	if len(args) == 0 {
		return modelCommand().usageError("name a subcommand: push, ls or pull")
	}
	sub, ok := modelSubcommands[args[0]]
	if !ok {
		return modelCommand().usageError(fmt.Sprintf("unknown subcommand %q", args[0]))
	}
	plainHTTP, positional, err := parseModelArgs(args[1:])
	if err != nil {
		return modelCommand().usageError(args[0] + ": " + err.Error())
	}
	if len(positional) != sub.args {
		return modelCommand().usageError(fmt.Sprintf("%s takes %d arguments, got %d", args[0], sub.args, len(positional)))
	}
	c, err := registry.NewClient(plainHTTP)
	if err != nil {
		fmt.Fprintf(os.Stderr, "modelgate model %s: %v\n", args[0], err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := sub.run(ctx, c, positional, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "modelgate model %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// parseModelArgs takes --plain-http anywhere among the positional arguments,
// as oras does; "--" ends the flags.
func parseModelArgs(args []string) (plainHTTP bool, positional []string, err error) {
	for i, a := range args {
		switch {
		case a == "--":
			return plainHTTP, append(positional, args[i+1:]...), nil
		case a == "--plain-http" || a == "-plain-http":
			plainHTTP = true
		case strings.HasPrefix(a, "-") && a != "-":
			return false, nil, fmt.Errorf("unknown flag %q", a)
		default:
			positional = append(positional, a)
		}
	}
	return plainHTTP, positional, nil
}

func modelPush(ctx context.Context, c *registry.Client, args []string, stdout io.Writer) error {
	p, err := c.Push(ctx, args[0], args[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pushed %s@%s (%d files)\n", p.Reference, p.Digest, p.Files)
	return nil
}

func modelList(ctx context.Context, c *registry.Client, args []string, stdout io.Writer) error {
	versions, err := c.List(ctx, args[0])
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tVERSION\tDIGEST\tCREATED\tMODEL SHA256\tACCURACY\tDATA")
	for _, v := range versions {
		a := v.Annotations
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Repository, v.Version, v.Digest,
			orDash(a[ocispec.AnnotationCreated]), orDash(a[registry.AnnotationSHA256]),
			orDash(a[registry.AnnotationAccuracy]), orDash(a[registry.AnnotationDataset]))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune { // one line per version, whatever the registry holds
		if r < ' ' {
			return ' '
		}
		return r
	}, s)
}

func modelPull(ctx context.Context, c *registry.Client, args []string, stdout io.Writer) error {
	p, err := c.Pull(ctx, args[0], args[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pulled %s %s (%s, %d files) into %s\n", p.Model, p.Version, p.Digest, p.Files, p.Dir)
	return nil
}
