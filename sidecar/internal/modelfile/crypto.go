package modelfile

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/modelgate/modelgate/sidecar/internal/config"
)

// NonceSize is the length of the nonce that starts a model.onnx.enc file.
const NonceSize = 12

// Decrypt opens data = 12-byte nonce || AES-256-GCM ciphertext and tag.
func Decrypt(key, data []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(data) < NonceSize+gcm.Overhead() {
		return nil, fmt.Errorf("encrypted model is %d bytes, too short for a nonce and a tag", len(data))
	}
	plain, err := gcm.Open(nil, data[:NonceSize], data[NonceSize:], nil)
	if err != nil {
		return nil, errors.New("authentication failed: wrong key or damaged file")
	}
	return plain, nil
}

// Encrypt seals plain into the model.onnx.enc format with a random nonce.
func Encrypt(key, plain []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, NonceSize, NonceSize+len(plain)+gcm.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(nonce, nonce, plain, nil), nil
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

// ParseKey accepts 32 raw bytes or 64 hex digits (surrounding whitespace ignored).
func ParseKey(raw []byte) ([]byte, error) {
	if s := strings.TrimSpace(string(raw)); len(s) == 64 {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	if len(raw) == 32 {
		return raw, nil
	}
	return nil, errors.New("key must be 32 raw bytes or 64 hex digits")
}

// KeyFromConfig returns the KeyFunc of an encryption section: the key is
// read from the environment variable or the file (relative to modelDir)
// each time a version loads, so a rotated key needs no restart.
func KeyFromConfig(enc *config.Encryption, modelDir string) KeyFunc {
	if enc == nil {
		return nil
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
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("model key: %w", err)
		}
		k, err := ParseKey(raw)
		if err != nil {
			return nil, fmt.Errorf("model key from %s: %w", path, err)
		}
		return k, nil
	}
}
