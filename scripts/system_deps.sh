#!/usr/bin/env bash
# Debian packages the view methods need: Apertium (bt, bt-neural, same-bt) and WordNet (synonym).
# Installs only what is missing; uses sudo when not root.
set -euo pipefail
PACKAGES=(apertium apertium-eng-spa apertium-eng-cat wordnet-base wordnet-sense-index)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
    echo "missing Debian packages ${missing[*]} and no apt-get: install them with your package manager" >&2
    exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
