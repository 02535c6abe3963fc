#!/usr/bin/env bash
# Prints an RS256 JWT for the DEMO issuer of the root kong.yml, signed with the
# committed DEMO private key (deploy/keys/demo-jwt-rs256.key). That key is public:
# tokens from it prove nothing outside a laptop. Needs only bash and openssl.
#
#   deploy/keys/mint-demo-token.sh SUBJECT [TTL_SECONDS (default 3600)]
set -euo pipefail
sub=${1:?usage: mint-demo-token.sh SUBJECT [TTL_SECONDS]}
ttl=${2:-3600}
key=${MODELGATE_DEMO_KEY:-$(dirname "$0")/demo-jwt-rs256.key}
case $sub in *[\"\\]*) echo "mint-demo-token.sh: SUBJECT may not contain quotes or backslashes" >&2; exit 2;; esac
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
header=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
payload=$(printf '{"iss":"https://auth.modelgate.example","aud":"modelgate","sub":"%s","iat":%d,"exp":%d}' \
  "$sub" "$now" "$((now + ttl))" | b64url)
signature=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$key" -binary | b64url)
printf '%s.%s.%s\n' "$header" "$payload" "$signature"
