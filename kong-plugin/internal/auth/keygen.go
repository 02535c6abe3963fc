package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
)

// KeyPrefix starts every generated API key, so a leaked key is recognisable
// (secret scanners, logs) and cannot be mistaken for a JWT.
const KeyPrefix = "mg_"

// DefaultKeygenTier is the tier Keygen writes when none is given.
const DefaultKeygenTier = "free"

// keyBytes is the entropy of a generated key: 256 bits.
const keyBytes = 32

// namePattern keeps consumer and tier names safe to print unquoted in YAML
// and as Redis key parts.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`)

// NewKey returns a fresh random API key and the hex SHA-256 digest that goes
// into the config.
func NewKey() (key, digest string, err error) {
	b := make([]byte, keyBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("reading random bytes: %w", err)
	}
	key = KeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(key))
	return key, hex.EncodeToString(sum[:]), nil
}

// Keygen writes a fresh API key for consumer to w, once, followed by the
// config entry (YAML for auth.consumers) holding only its SHA-256. The key
// itself is stored nowhere: whoever runs keygen hands it to the consumer.
// An empty tier means DefaultKeygenTier.
func Keygen(w io.Writer, consumer, tier string) error {
	if tier == "" {
		tier = DefaultKeygenTier
	}
	if !namePattern.MatchString(consumer) {
		return errors.New("consumer name must be 1-128 characters of letters, digits, '.', '_', '@', '-', starting with a letter or digit")
	}
	if !namePattern.MatchString(tier) {
		return errors.New("tier name must be 1-128 characters of letters, digits, '.', '_', '@', '-', starting with a letter or digit")
	}
	key, digest, err := NewKey()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, `# API key for consumer %[1]s. It is shown only this once: hand it to the
# consumer now. The config keeps only its SHA-256.
%[2]s

# Add to the modelgate plugin config under auth.consumers (or append the
# digest to key_sha256 of an existing consumer to rotate keys):
- name: %[1]s
  tier: %[3]s
  key_sha256: ["%[4]s"]
`, consumer, key, tier, digest)
	return err
}
