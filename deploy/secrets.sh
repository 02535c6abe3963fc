#!/usr/bin/env bash
# Generates the credentials deploy/ takes, into OUTDIR (created; refused if it
# already holds any of them): nothing under deploy/ carries a working one.
# Needs only bash and openssl.
#
#   deploy/secrets.sh deploy/secrets        for deploy/docker-compose.yml
#   deploy/secrets.sh deploy/k8s/secrets    for deploy/k8s (its secretGenerator)
#
# Mounted into the Kong container (/etc/modelgate/secrets) and Redis:
#   api-keys.sha256  SHA-256 digests of the API keys, one per line (the
#                    consumer `app` of deploy/kong/kong.yml); add lines to rotate
#   jwt-rs256.pub    the public key the issuer's tokens are checked with
#   redis-password   the quota Redis password (Redis and the plugin)
# Kept by the operator, never mounted:
#   api-key          the API key itself, for the client (printed nowhere else)
#   jwt-rs256.key    the issuer's private key (mint tokens with
#                    MODELGATE_DEMO_KEY=OUTDIR/jwt-rs256.key deploy/keys/mint-demo-token.sh SUBJECT)
set -euo pipefail
umask 077
out=${1:?usage: deploy/secrets.sh OUTDIR}
[ $# -eq 1 ] || { echo "usage: deploy/secrets.sh OUTDIR" >&2; exit 2; }
files=(api-key api-keys.sha256 jwt-rs256.key jwt-rs256.pub redis-password)
mkdir -p "$out"
for f in "${files[@]}"; do
  if [ -e "$out/$f" ]; then
    echo "deploy/secrets.sh: $out/$f exists; refusing to replace a credential (remove it first to rotate)" >&2
    exit 1
  fi
done
# A key of `modelgate keygen`'s form: mg_ and 32 random bytes, base64url.
key="mg_$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n')"
printf '%s\n' "$key" > "$out/api-key"
printf '%s  app\n' "$(printf '%s' "$key" | openssl dgst -sha256 -r | cut -d' ' -f1)" > "$out/api-keys.sha256"
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$out/jwt-rs256.key"
openssl pkey -in "$out/jwt-rs256.key" -pubout -out "$out/jwt-rs256.pub"
openssl rand -hex 32 > "$out/redis-password"
# Kong and Redis run as their own users (kong 1001, redis 999): compose's
# file secrets keep these modes, so they must be readable by them.
chmod 0644 "$out/api-keys.sha256" "$out/jwt-rs256.pub" "$out/redis-password"
chmod 0755 "$out"
echo "wrote ${files[*]} to $out (api-key and jwt-rs256.key stay with you: they are not mounted)"
