package auth

import "log/slog"

// warnNoAudience warns, once per config build, about an issuer whose
// tokens are accepted whatever their `aud`: a token the same identity
// provider minted for another service (another API, a web app) then opens
// this gateway too. RFC 8725 (JWT Best Current Practices), section 3.9,
// asks a relying party that shares an issuer with others to check the
// audience; the check stays optional here for single-purpose issuers.
func warnNoAudience(log *slog.Logger, ic Issuer) {
	if len(ic.Audiences) > 0 {
		return
	}
	if log == nil {
		log = slog.Default()
	}
	log.Warn("auth.jwt: this issuer has no audiences: it accepts tokens minted for any service of the issuer "+
		"(RFC 8725, 3.9: set audiences to the names this gateway's tokens carry in aud)",
		"issuer", ic.Issuer, "namespace", ic.Namespace())
}
