// Package modelfile reads one model version's ONNX bytes from its folder:
// model.onnx, or model.onnx.enc decrypted in memory, each checked against
// its .sha256 file before anything parses it.
package modelfile

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// File names inside a version folder.
const (
	Plain     = "model.onnx"
	Encrypted = "model.onnx.enc"
	// SumSuffix names the checksum file beside a model file.
	SumSuffix = ".sha256"
)

// ErrChecksum is wrapped by every checksum mismatch.
var ErrChecksum = errors.New("checksum mismatch")

// KeyFunc returns the AES-256 key for an encrypted model.
type KeyFunc func() ([]byte, error)

// Model is what Read returns.
type Model struct {
	// Bytes is the ONNX model (decrypted in memory for model.onnx.enc).
	Bytes []byte
	// Digest is the hex sha256 of the file read (the plain or the encrypted one).
	Digest string
	// Unbound is true for a format-1 encrypted file, which does not bind its
	// model name and version; the caller warns about it.
	Unbound bool
}

// ReadOptions say how Read treats an encrypted file.
type ReadOptions struct {
	// Key returns the AES-256 key; it is called only when the folder holds
	// model.onnx.enc.
	Key KeyFunc
	// RequireBound refuses format-1 encrypted files (ErrUnbound).
	RequireBound bool
}

// Read returns the model of the version folder dir, which holds the version
// id: model.onnx, or model.onnx.enc decrypted for id, each checked against its
// .sha256 file first.
func Read(dir string, id Identity, opts ReadOptions) (Model, error) {
	plain, encrypted := filepath.Join(dir, Plain), filepath.Join(dir, Encrypted)
	hasPlain, hasEnc := exists(plain), exists(encrypted)
	switch {
	case hasPlain && hasEnc:
		return Model{}, fmt.Errorf("%s holds both %s and %s; keep one", dir, Plain, Encrypted)
	case !hasPlain && !hasEnc:
		return Model{}, fmt.Errorf("%s holds neither %s nor %s", dir, Plain, Encrypted)
	}
	path := plain
	if hasEnc {
		path = encrypted
	}
	data, digest, err := readChecked(path)
	if err != nil {
		return Model{}, err
	}
	if !hasEnc {
		return Model{Bytes: data, Digest: digest}, nil
	}
	if opts.Key == nil {
		return Model{}, fmt.Errorf("%s is encrypted but the model's config.yaml has no encryption section", path)
	}
	if opts.RequireBound && !bytes.HasPrefix(data, BoundMagic) {
		return Model{}, fmt.Errorf("%s: %w (--require-bound-models)", path, ErrUnbound)
	}
	k, err := opts.Key()
	if err != nil {
		return Model{}, err
	}
	model, bound, err := Decrypt(k, data, id)
	clear(k)
	if err != nil {
		return Model{}, fmt.Errorf("decrypting %s: %w", path, err)
	}
	return Model{Bytes: model, Digest: digest, Unbound: !bound}, nil
}

// Digest returns the expected hex sha256 of the model file in dir, as its
// .sha256 file states it; the repository compares digests to notice changes
// without reading models.
func Digest(dir string) (string, error) {
	path := filepath.Join(dir, Plain)
	if !exists(path) {
		path = filepath.Join(dir, Encrypted)
	}
	return expectedSum(path)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readChecked reads path and checks it against path.sha256 (sha256sum's
// format: the hex digest, optionally followed by whitespace and a name).
func readChecked(path string) ([]byte, string, error) {
	want, err := expectedSum(path)
	if err != nil {
		return nil, "", err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("reading model: %w", err)
	}
	sum := sha256.Sum256(data)
	got := hex.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return nil, "", fmt.Errorf("%w: %s has sha256 %s, %s%s says %s", ErrChecksum, path, got, filepath.Base(path), SumSuffix, want)
	}
	return data, got, nil
}

func expectedSum(path string) (string, error) {
	raw, err := os.ReadFile(path + SumSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s has no checksum file %s%s (write it with: sha256sum %s > %s%s)",
			path, filepath.Base(path), SumSuffix, filepath.Base(path), filepath.Base(path), SumSuffix)
	}
	if err != nil {
		return "", fmt.Errorf("reading checksum: %w", err)
	}
	fields := strings.Fields(string(raw))
	if len(fields) == 0 || len(fields[0]) != 64 {
		return "", fmt.Errorf("%s%s does not start with a 64-digit hex sha256", path, SumSuffix)
	}
	want := strings.ToLower(fields[0])
	if _, err := hex.DecodeString(want); err != nil {
		return "", fmt.Errorf("%s%s does not start with a 64-digit hex sha256", path, SumSuffix)
	}
	return want, nil
}
