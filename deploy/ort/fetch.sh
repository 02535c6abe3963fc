#!/usr/bin/env bash
# Fetches an ONNX Runtime shared library from an npm package with `npm pack`
# (no install scripts run), checks the tarball against a pinned integrity
# hash, and unpacks only the wanted files into DEST.
#
#   fetch.sh PACKAGE@VERSION INTEGRITY DEST FILE...
#
# Each FILE is a path inside the package; it lands in DEST under its base name.
set -euo pipefail
pkg=$1 integrity=$2 dest=$3
shift 3
command -v npm >/dev/null || { echo "fetch.sh: npm is needed to fetch $pkg (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "ort: fetching $pkg (about 100 MB)..." >&2
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
tarball=$(ls "$tmp"/*.tgz)
algo=${integrity%%-*}
got="$algo-$(openssl dgst -"$algo" -binary "$tarball" | base64 -w0)"
if [ "$got" != "$integrity" ]; then
  echo "fetch.sh: integrity mismatch for $pkg: got $got, want $integrity" >&2
  exit 1
fi
mkdir -p "$dest"
for f in "$@"; do
  tar -xzf "$tarball" -C "$tmp" "package/$f"
  install -m 0644 "$tmp/package/$f" "$dest/$(basename "$f")"
  echo "ort: $dest/$(basename "$f")" >&2
done
