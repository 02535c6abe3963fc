package auth

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
)

// issuer is a compiled Issuer: its parser (allowed algorithms, issuer,
// audiences, leeway, required exp) and its keys.
type issuer struct {
	name          string
	algorithms    []string
	hmacSecret    *secret.Source[[]byte]
	publicKeys    *secret.Source[[]verificationKey]
	parser        *jwt.Parser
	consumerClaim string
	defaultTier   string
	namespace     string
	subjects      map[string]consumerEntry // subjects mapped to configured consumers
}

func compileIssuer(ic Issuer, a *Authenticator) (*issuer, error) {
	iss := &issuer{
		name:          ic.Issuer,
		algorithms:    slices.Clone(ic.Algorithms),
		consumerClaim: ic.ConsumerClaim,
		defaultTier:   ic.DefaultTier,
		namespace:     ic.Namespace(),
		subjects:      make(map[string]consumerEntry, len(ic.Subjects)),
	}
	for subject, consumer := range ic.Subjects {
		iss.subjects[subject] = a.consumers[consumer] // Validate checked it exists
	}
	if iss.consumerClaim == "" {
		iss.consumerClaim = DefaultConsumerClaim
	}
	if err := iss.loadKeys(ic, a.watch); err != nil {
		return nil, err
	}

	var leeway time.Duration
	if ic.Leeway != "" {
		leeway, _ = time.ParseDuration(ic.Leeway) // Validate checked it
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(iss.algorithms),
		jwt.WithIssuer(ic.Issuer),
		jwt.WithLeeway(leeway),
		jwt.WithExpirationRequired(),
		// iat is not checked (nor by Kong's jwt plugin, nor golang-jwt by
		// default): with the default zero leeway a gateway clock a few ms
		// behind the issuer's would refuse fresh tokens. nbf and exp are.
		jwt.WithTimeFunc(func() time.Time { return a.now() }),
		jwt.WithStrictDecoding(),
	}
	if len(ic.Audiences) > 0 {
		opts = append(opts, jwt.WithAudience(ic.Audiences...))
	}
	iss.parser = jwt.NewParser(opts...)
	return iss, nil
}

// keyFunc returns the keys that may verify token: the HMAC secret for HS*,
// else the public keys that fit the token's alg (and its kid, when both the
// token and the key have one). The alg was already checked against the
// issuer's list, and the key type against the alg, so an HS256 token can never
// be verified with a public key as its HMAC secret.
func (iss *issuer) keyFunc(token *jwt.Token) (any, error) {
	alg := token.Method.Alg()
	if algorithmFamilies[alg] == familyHMAC {
		if iss.hmacSecret == nil {
			return nil, errors.New("HMAC algorithm for an issuer with public keys")
		}
		return iss.hmacSecret.Get(), nil
	}
	if iss.publicKeys == nil {
		return nil, errors.New("public-key algorithm for an issuer with an HMAC secret")
	}
	kid, _ := token.Header["kid"].(string)
	var set jwt.VerificationKeySet
	for _, k := range iss.publicKeys.Get() {
		if k.fits(alg) && (kid == "" || k.kid == "" || k.kid == kid) {
			set.Keys = append(set.Keys, k.key)
		}
	}
	if len(set.Keys) == 0 {
		// The kid is attacker-chosen: do not echo it.
		return nil, errors.New("no key fits the token's algorithm and kid")
	}
	return set, nil
}

func (a *Authenticator) authenticateJWT(raw string) (Identity, error) {
	if len(raw) > maxCredentialBytes {
		return Identity{}, fail(ReasonMalformed, true, errors.New("token too long"))
	}
	claims := jwt.MapClaims{}
	// Read the header and iss to pick the issuer; nothing read here is
	// trusted until the issuer's parser has verified the signature.
	token, _, err := jwt.NewParser().ParseUnverified(raw, claims)
	if err != nil {
		return Identity{}, fail(ReasonMalformed, true, errors.New("token does not parse"))
	}
	issName, _ := claims["iss"].(string)
	iss, ok := a.issuers[issName]
	if !ok {
		return Identity{}, fail(ReasonUnknownIssuer, true, errors.New("token's iss names no configured issuer"))
	}
	alg := token.Method.Alg()
	if !slices.Contains(iss.algorithms, alg) {
		// Covers alg none: it is in no issuer's list.
		return Identity{}, fail(ReasonBadAlgorithm, true,
			fmt.Errorf("issuer %s does not allow the token's algorithm", iss.name))
	}

	claims = jwt.MapClaims{}
	if _, err := iss.parser.ParseWithClaims(raw, claims, iss.keyFunc); err != nil {
		return Identity{}, fail(jwtReason(err), true, fmt.Errorf("issuer %s: %w", iss.name, err))
	}
	subject, _ := claims[iss.consumerClaim].(string)
	if subject == "" {
		return Identity{}, fail(ReasonUnknownConsumer, true,
			fmt.Errorf("issuer %s: claim %q is missing or not a string", iss.name, iss.consumerClaim))
	}
	entry, err := iss.consumer(subject)
	if err != nil {
		return Identity{}, fail(ReasonUnknownConsumer, true, fmt.Errorf("issuer %s: %w", iss.name, err))
	}
	return Identity{Consumer: entry.name, Tier: entry.tier, Method: MethodJWT}, nil
}

// consumer maps an authenticated subject to its consumer: the configured
// consumer the issuer's subjects map names, else `<namespace>:<subject>`
// on the issuer's default tier. A subject is never a configured consumer by
// its name alone: every issuer's subjects live in its own namespace.
func (iss *issuer) consumer(subject string) (consumerEntry, error) {
	if entry, ok := iss.subjects[subject]; ok {
		return entry, nil
	}
	if iss.defaultTier == "" {
		return consumerEntry{}, errors.New("the subject is not in the issuer's subjects and the issuer has no default_tier")
	}
	name, err := SubjectConsumer(iss.namespace, subject)
	if err != nil {
		// The subject is attacker-chosen: say what is wrong, not what it is.
		return consumerEntry{}, fmt.Errorf("claim %q is not a valid consumer name", iss.consumerClaim)
	}
	return consumerEntry{name: name, tier: iss.defaultTier}, nil
}

// jwtReason maps golang-jwt's error kinds to a bounded Reason. The error
// texts of golang-jwt name the failed check, never the token, so they are
// safe as the logged cause.
func jwtReason(err error) Reason {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ReasonMalformed
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return ReasonBadSignature
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ReasonBadSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return ReasonExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ReasonNotYetValid
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ReasonBadAudience
	default:
		return ReasonInvalidToken
	}
}
