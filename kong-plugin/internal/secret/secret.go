// Package secret resolves the secret references the plugin config holds in
// place of secret values: `env:NAME` (an environment variable) or `file:PATH`
// (a file, e.g. a mounted Kubernetes secret). A literal value is refused, so a
// secret never ends up in kong.yml, in Kong's database or in `-dump` output.
package secret

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/modelgate/modelgate/internal/pathbound"
)

// The two reference schemes.
const (
	envPrefix  = "env:"
	filePrefix = "file:"
)

// ErrLiteral is returned for a value that is not an `env:` or `file:`
// reference. The message never repeats the value: it may be the secret itself.
var ErrLiteral = errors.New("secret must be an env:NAME or file:PATH reference, not a literal value")

// ErrEmpty is returned when a reference resolves to nothing (an unset or empty
// variable, an empty file): an empty HMAC secret or password is a mistake, not
// a choice.
var ErrEmpty = errors.New("secret is empty")

// Check reports whether ref is a well-formed reference without reading it, for
// config validation before the environment or files are in place.
func Check(ref string) error {
	switch {
	case strings.HasPrefix(ref, envPrefix):
		if name := ref[len(envPrefix):]; name == "" || strings.ContainsAny(name, "= \t\n\x00") {
			return fmt.Errorf("secret reference %q: invalid variable name", ref)
		}
		return nil
	case strings.HasPrefix(ref, filePrefix):
		if ref[len(filePrefix):] == "" {
			return fmt.Errorf("secret reference %q: empty path", ref)
		}
		return nil
	default:
		return ErrLiteral
	}
}

// Resolve reads the secret that ref points to; a file must lie in one of
// folders once its symlinks are resolved (pathbound), and the file read is
// the resolved one, so a link swapped after the check cannot lead out.
// Trailing newlines ("\n" or "\r\n") are removed, because files written
// with echo or an editor end in one and nobody means it as part of a
// secret. Errors name the reference (a variable name or a path, never the
// value).
func Resolve(ref string, folders pathbound.Folders) ([]byte, error) {
	value, _, err := resolve(ref, folders)
	return value, err
}

// resolve is Resolve that also returns the path a file: reference resolved
// to ("" for env:).
func resolve(ref string, folders pathbound.Folders) ([]byte, string, error) {
	if err := Check(ref); err != nil {
		return nil, "", err
	}
	var value []byte
	resolved := ""
	if name, ok := strings.CutPrefix(ref, envPrefix); ok {
		v, set := os.LookupEnv(name)
		if !set {
			return nil, "", fmt.Errorf("secret reference %q: environment variable %s is not set", ref, name)
		}
		value = []byte(v)
	} else {
		var err error
		if resolved, err = folders.Resolve(ref[len(filePrefix):]); err != nil {
			return nil, "", fmt.Errorf("secret reference %q: %w", ref, err)
		}
		if value, err = os.ReadFile(resolved); err != nil {
			// The *PathError names the path and the cause, never the content.
			return nil, "", fmt.Errorf("secret reference %q: %w", ref, err)
		}
	}
	value = trimNewlines(value)
	if len(value) == 0 {
		return nil, "", fmt.Errorf("secret reference %q: %w", ref, ErrEmpty)
	}
	return value, resolved, nil
}

func trimNewlines(b []byte) []byte {
	for {
		switch {
		case bytes.HasSuffix(b, []byte("\r\n")):
			b = b[:len(b)-2]
		case bytes.HasSuffix(b, []byte("\n")):
			b = b[:len(b)-1]
		default:
			return b
		}
	}
}
