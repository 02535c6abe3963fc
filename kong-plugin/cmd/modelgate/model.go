package main

import (
	"context"
	"errors"
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
		summary: "push, list, pull, sign and verify model versions in an OCI registry",
		synopsis: `modelgate model push VERSION_DIR REF [--plain-http]
       modelgate model ls REGISTRY/NAMESPACE[/MODEL] [--plain-http]
       modelgate model pull REF REPO_DIR [--plain-http]
       modelgate model sign --key KEY.pem REF [--plain-http]
       modelgate model verify --key PUB.pem REF [--plain-http]

  push    store VERSION_DIR (MODEL/VERSION of a model repository) and the model-level
          files it needs (config.yaml, its vocabulary, labels.txt, MODEL_CARD.md) as one
          artifact; REF is REGISTRY/NAMESPACE/MODEL[:VERSION], tagged with the version
  ls      list models, versions, digests and the model card's facts (catalog, tags)
  pull    write the version REF names (:VERSION or @DIGEST) as REPO_DIR/MODEL/VERSION
          plus the model-level files, each verified against its digest
  sign    sign the version REF names with an ECDSA P-256 private key (PEM, or cosign's
          encrypted cosign.key with $COSIGN_PASSWORD) in cosign 2.x's key-based format,
          under the tag sha256-<digest>.sig
  verify  check that the version REF names has a signature by the public key (PEM)

Credentials come from $DOCKER_CONFIG/config.json, else ~/.docker/config.json.

flags (before or after the arguments):
  --plain-http  talk HTTP, not HTTPS, to the registry (one without TLS)
  --key FILE    sign: the private key; verify: the public key`,
		readme: modelSection,
		run:    runModel,
	}
}

// modelOptions are the flags of the model subcommands.
type modelOptions struct {
	plainHTTP bool
	key       string // a PEM key file: sign's private key, verify's public key
}

// modelSubcommands take their positional arguments, n of them; withKey ones
// require --key.
var modelSubcommands = map[string]struct {
	args    int
	withKey bool
	run     func(ctx context.Context, c *registry.Client, o modelOptions, args []string, stdout io.Writer) error
}{
	"push":   {2, false, modelPush},
	"ls":     {1, false, modelList},
	"pull":   {2, false, modelPull},
	"sign":   {1, true, modelSign},
	"verify": {1, true, modelVerify},
}

func runModel(args []string) int {
	if len(args) == 0 {
		return modelCommand().usageError("name a subcommand: push, ls, pull, sign or verify")
	}
	sub, ok := modelSubcommands[args[0]]
	if !ok {
		return modelCommand().usageError(fmt.Sprintf("unknown subcommand %q", args[0]))
	}
	o, positional, err := parseModelArgs(args[1:], sub.withKey)
	if err != nil {
		return modelCommand().usageError(args[0] + ": " + err.Error())
	}
	if len(positional) != sub.args {
		return modelCommand().usageError(fmt.Sprintf("%s takes %d arguments, got %d", args[0], sub.args, len(positional)))
	}
	if sub.withKey && o.key == "" {
		return modelCommand().usageError(args[0] + ": --key is required")
	}
	c, err := registry.NewClient(o.plainHTTP)
	if err != nil {
		fmt.Fprintf(os.Stderr, "modelgate model %s: %v\n", args[0], err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := sub.run(ctx, c, o, positional, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "modelgate model %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// parseModelArgs takes the flags anywhere among the positional arguments, as
// oras does; "--" ends the flags.
func parseModelArgs(args []string, withKey bool) (o modelOptions, positional []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case a == "--":
			return o, append(positional, args[i+1:]...), nil
		case !strings.HasPrefix(a, "-") || a == "-":
			positional = append(positional, a)
		case name == "plain-http" && !hasValue:
			o.plainHTTP = true
		case name == "key" && withKey:
			if !hasValue {
				if i+1 == len(args) {
					return o, nil, errors.New("--key needs a file")
				}
				i++
				value = args[i]
			}
			o.key = value
		default:
			return o, nil, fmt.Errorf("unknown flag %q", a)
		}
	}
	return o, positional, nil
}

func modelPush(ctx context.Context, c *registry.Client, _ modelOptions, args []string, stdout io.Writer) error {
	p, err := c.Push(ctx, args[0], args[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pushed %s@%s (%d files)\n", p.Reference, p.Digest, p.Files)
	return nil
}

func modelList(ctx context.Context, c *registry.Client, _ modelOptions, args []string, stdout io.Writer) error {
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

func modelPull(ctx context.Context, c *registry.Client, _ modelOptions, args []string, stdout io.Writer) error {
	p, err := c.Pull(ctx, args[0], args[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pulled %s %s (%s, %d files) into %s\n", p.Model, p.Version, p.Digest, p.Files, p.Dir)
	return nil
}

func modelSign(ctx context.Context, c *registry.Client, o modelOptions, args []string, stdout io.Writer) error {
	b, err := os.ReadFile(o.key)
	if err != nil {
		return err
	}
	key, err := registry.ParsePrivateKey(b, cosignPassword)
	if err != nil {
		return fmt.Errorf("%s: %w", o.key, err)
	}
	s, err := c.Sign(ctx, args[0], key)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signed %s as %s\n", s.Digest, s.Signature)
	return nil
}

// cosignPassword is the password of a cosign.key, from the variable cosign
// itself reads (set, possibly empty, as for `cosign sign`).
func cosignPassword() ([]byte, error) {
	pw, ok := os.LookupEnv("COSIGN_PASSWORD")
	if !ok {
		return nil, errors.New("an encrypted cosign key: set COSIGN_PASSWORD to its password")
	}
	return []byte(pw), nil
}

func modelVerify(ctx context.Context, c *registry.Client, o modelOptions, args []string, stdout io.Writer) error {
	b, err := os.ReadFile(o.key)
	if err != nil {
		return err
	}
	key, err := registry.ParsePublicKey(b)
	if err != nil {
		return fmt.Errorf("%s: %w", o.key, err)
	}
	name, d, err := c.Resolve(ctx, args[0])
	if err != nil {
		return err
	}
	if err := c.Verify(ctx, name, d, key); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "verified %s@%s\n", name, d)
	return nil
}
