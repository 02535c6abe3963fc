package auth

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NamespaceSeparator joins an issuer's namespace and a subject into the
// consumer name of a JWT subject: `<issuer name>:<subject>`. Configured
// consumer names and issuer names never contain it, so no token can name a
// configured consumer, and no issuer's subject can be another issuer's.
const NamespaceSeparator = ":"

// maxConsumerName bounds a consumer name, configured or taken from a token:
// it becomes part of quota keys, log fields and (with consumer_labels)
// metric labels.
const maxConsumerName = 256

// checkNameChars is the rule every consumer name follows, configured or
// taken from a token: 1 to 256 bytes of UTF-8, without control characters
// or white space (a name goes into logs, quota keys and Kong's consumer
// lookup as it is).
func checkNameChars(name string) error {
	switch {
	case name == "":
		return errors.New("empty")
	case len(name) > maxConsumerName:
		return fmt.Errorf("longer than %d bytes", maxConsumerName)
	case !utf8.ValidString(name):
		return errors.New("not UTF-8")
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return fmt.Errorf("contains %q (no control characters or white space)", r)
		}
	}
	return nil
}

// checkConfiguredName is checkNameChars plus no NamespaceSeparator, for the
// names an operator writes: auth.consumers[].name and auth.jwt[].name.
func checkConfiguredName(name string) error {
	if err := checkNameChars(name); err != nil {
		return err
	}
	if strings.Contains(name, NamespaceSeparator) {
		return fmt.Errorf("contains %q, which only the consumer names of JWT subjects (<issuer name>:<subject>) have", NamespaceSeparator)
	}
	return nil
}

// SubjectConsumer is the consumer name of subject from the issuer whose
// namespace is namespace, checked like a configured name.
func SubjectConsumer(namespace, subject string) (string, error) {
	if err := checkNameChars(subject); err != nil {
		return "", fmt.Errorf("subject: %w", err)
	}
	name := namespace + NamespaceSeparator + subject
	if err := checkNameChars(name); err != nil {
		return "", err
	}
	return name, nil
}
