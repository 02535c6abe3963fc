package modelfile

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/modelgate/modelgate/internal/pathbound"
	"github.com/modelgate/modelgate/sidecar/internal/config"
)

// NonceSize is the length of the AES-GCM nonce in a model.onnx.enc file.
const NonceSize = 12

// BoundMagic starts a model.onnx.enc file whose model name and version are
// bound as AES-GCM associated data (format 2). Files without it are format 1:
// nonce || ciphertext || tag, no associated data, so they can be moved to
// another model name or version undetected. A format-1 nonce is random, so it
// starts with these 8 bytes with probability 2^-64.
var BoundMagic = []byte("MGENC\x00\x02\x00")

// ErrUnbound is returned for a format-1 file when the caller requires bound files.
var ErrUnbound = errors.New("encrypted model does not bind its model name and version (format 1); re-encrypt it with `modelgate-sidecar encrypt`")

// Identity names the model version an encrypted file belongs to.
type Identity struct {
	Model, Version string
}

// associatedData is what a format-2 file authenticates besides its content:
// the header and the identity, each length-prefixed so no two identities
// encode alike.
func (id Identity) associatedData() []byte {
	ad := make([]byte, 0, len(BoundMagic)+8+len(id.Model)+len(id.Version))
	ad = append(ad, BoundMagic...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(id.Model)))
	ad = append(ad, id.Model...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(id.Version)))
	return append(ad, id.Version...)
}

// Decrypt opens an encrypted model file for the version id. bound reports
// whether the file was format 2; a format-1 file decrypts without checking id.
func Decrypt(key, data []byte, id Identity) (plain []byte, bound bool, err error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, false, err
	}
	var ad []byte
	if bound = bytes.HasPrefix(data, BoundMagic); bound {
		data, ad = data[len(BoundMagic):], id.associatedData()
	}
	if len(data) < NonceSize+gcm.Overhead() {
		return nil, bound, fmt.Errorf("encrypted model is %d bytes, too short for a nonce and a tag", len(data))
	}
	plain, err = gcm.Open(nil, data[:NonceSize], data[NonceSize:], ad)
	if err != nil {
		if bound {
			return nil, bound, fmt.Errorf("authentication failed: wrong key, damaged file, or a file encrypted for another model or version than %s/%s", id.Model, id.Version)
		}
		return nil, bound, errors.New("authentication failed: wrong key or damaged file")
	}
	return plain, bound, nil
}

// Encrypt seals plain for the version id in format 2:
// BoundMagic || 12-byte random nonce || AES-256-GCM(plain, associated data
// BoundMagic || len(model) || model || len(version) || version) || tag.
func Encrypt(key, plain []byte, id Identity) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(BoundMagic)+NonceSize, len(BoundMagic)+NonceSize+len(plain)+gcm.Overhead())
	copy(out, BoundMagic)
	nonce := out[len(BoundMagic):]
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(out, nonce, plain, id.associatedData()), nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("AES-256 key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// ErrKeyEncoding is wrapped by ParseKey's errors. The message never repeats
// the key.
var ErrKeyEncoding = errors.New("model key must be 64 hex digits or the standard base64 of 32 bytes (e.g. `openssl rand -hex 32`)")

// ParseKey decodes a model key written as 64 hex digits or as the standard
// base64 (padded) of 32 bytes; surrounding whitespace is ignored. Raw bytes
// are refused: a text that happens to be 32 bytes long (a passphrase, a
// truncated hex key) is not a key.
func ParseKey(raw []byte) ([]byte, error) {
	s := strings.TrimSpace(string(raw))
	switch len(s) {
	case 64:
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	case base64.StdEncoding.EncodedLen(32):
		if k, err := base64.StdEncoding.Strict().DecodeString(s); err == nil && len(k) == 32 {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w; got %d characters that are neither", ErrKeyEncoding, len(s))
}

// KeyFromConfig returns the KeyFunc of an encryption section: the key is
// read from the environment variable or the file (relative to modelDir)
// each time a version loads, so a rotated key needs no restart. A key_file
// must lie, after ".." and symlinks, in modelDir or one of keyDirs (the
// sidecar's --key-dirs): config.yaml comes with the model, and whoever
// publishes a model must not make the sidecar read any file it can.
func KeyFromConfig(enc *config.Encryption, modelDir string, keyDirs pathbound.Folders) KeyFunc {
	if enc == nil {
		return nil
	}
	// pathbound allows absolute folders only; --models may be relative
	// (the root kong.yml's deploy/models), and so may a --key-dirs entry.
	allowed := pathbound.Folders{absolute(modelDir)}
	for _, d := range keyDirs {
		allowed = append(allowed, absolute(d))
	}
	return func() ([]byte, error) {
		if enc.KeyEnv != "" {
			v, ok := os.LookupEnv(enc.KeyEnv)
			if !ok || v == "" {
				return nil, fmt.Errorf("model key: environment variable %s is not set", enc.KeyEnv)
			}
			k, err := ParseKey([]byte(v))
			if err != nil {
				return nil, fmt.Errorf("model key from $%s: %w", enc.KeyEnv, err)
			}
			return k, nil
		}
		path := enc.KeyFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(modelDir, path)
		}
		path, err := allowed.Resolve(path)
		if err != nil {
			return nil, fmt.Errorf("model key: key_file %q: %w (the model's folder, or --key-dirs)", enc.KeyFile, err)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("model key: %w", err)
		}
		k, err := ParseKey(raw)
		clear(raw)
		if err != nil {
			return nil, fmt.Errorf("model key from %s: %w", path, err)
		}
		return k, nil
	}
}

// absolute makes dir absolute against the working directory, as the
// sidecar resolves --models; a folder it cannot make absolute is kept as
// written (and then allows nothing).
func absolute(dir string) string {
	if a, err := filepath.Abs(dir); err == nil {
		return a
	}
	return dir
}
