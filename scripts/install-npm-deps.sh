#!/usr/bin/env bash
# install-npm-deps.sh [DIR ...]
#
# Installs the npm packages of each DIR (default test/sdk, the posthog-node client and the browser
# driver the TAP tests use; examples/web, the page they open; bench/field/node and
# bench/field/unleash hold what `make bench` measures against), pinned
# by its committed package-lock.json, with `npm ci`. scripts/run-tap.sh and bench/run.sh call it.
#
# Fast when nothing changed: after a successful install the SHA-256 of package-lock.json is
# written into node_modules; while it still matches, npm is not run at all.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "install-npm-deps: $*" >&2; }

install_dir() {  # install_dir DIR
    local dir=$1 stamp=$1/node_modules/.flag_eval-package-lock.sha256 want
    [[ -f $dir/package-lock.json ]] || { log "no $dir/package-lock.json; nothing to install"; return 0; }
    command -v npm >/dev/null || { log "npm not found (Debian packages nodejs and npm)"; exit 1; }
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
        return 0
    fi
    log "npm ci in $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
    echo "$want" >"$stamp"
}

(($# > 0)) || set -- test/sdk
for dir in "$@"; do
    install_dir "$dir"
done
