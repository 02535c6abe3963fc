package auth

import (
	"net/http"
	"strings"
)

// CredentialKind says which kind of credential a request carries.
type CredentialKind int

// The credential kinds.
const (
	// NoCredential: the request carries neither an API key nor a token.
	NoCredential CredentialKind = iota
	// APIKey: from the `apikey` header or a non-JWT `Authorization: Bearer`.
	APIKey
	// JWT: an `Authorization: Bearer` value shaped like a JWT.
	JWT
)

// APIKeyHeader is the header carrying an API key, key-auth's default name.
const APIKeyHeader = "apikey"

// maxCredentialBytes bounds what is hashed or parsed: no real key or token is
// near it, and a huge header must not cost a huge parse.
const maxCredentialBytes = 16 << 10

// Credential is the credential found in a request. Value is secret: never log
// it or put it in an error.
type Credential struct {
	Kind  CredentialKind
	Value string
}

// ExtractCredential finds the request's credential. The `apikey` header wins
// over Authorization (as with Kong's key-auth, which looks there first);
// `Authorization: Bearer <value>` (scheme case-insensitive, RFC 7235) is a JWT
// when the value has JWT shape (three base64url segments), else an API key.
// Any other Authorization scheme, or an empty value, counts as no credential.
// The size is not checked here: Authenticate refuses oversized values.
func ExtractCredential(h http.Header) Credential {
	if v := strings.TrimSpace(h.Get(APIKeyHeader)); v != "" {
		return Credential{Kind: APIKey, Value: v}
	}
	scheme, value, ok := strings.Cut(strings.TrimSpace(h.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Credential{}
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return Credential{}
	}
	if looksLikeJWT(value) {
		return Credential{Kind: JWT, Value: value}
	}
	return Credential{Kind: APIKey, Value: value}
}

// looksLikeJWT reports whether s is three non-empty-header base64url segments
// joined by dots (the signature segment may be empty only for alg none, which
// is then rejected as a JWT rather than looked up as a key).
func looksLikeJWT(s string) bool {
	dots := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			dots++
			if dots > 2 {
				return false
			}
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '=':
		default:
			return false
		}
	}
	if dots != 2 {
		return false
	}
	header, rest, _ := strings.Cut(s, ".")
	payload, _, _ := strings.Cut(rest, ".")
	return header != "" && payload != ""
}
