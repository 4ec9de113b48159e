#!/usr/bin/env bash
# install-npm-deps.sh
#
# Installs the npm packages the TAP tests drive (test/sdk: posthog-node, pinned by its committed
# package-lock.json) with `npm ci`. scripts/run-tap.sh calls it before prove.
#
# Fast when nothing changed: after a successful install the SHA-256 of package-lock.json is
# written into node_modules; while it still matches, npm is not run at all.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SDK_DIR=test/sdk
STAMP=$SDK_DIR/node_modules/.flag_eval-package-lock.sha256

log() { echo "install-npm-deps: $*" >&2; }

[[ -f $SDK_DIR/package-lock.json ]] || { log "no $SDK_DIR/package-lock.json; nothing to install"; exit 0; }
command -v npm >/dev/null || { log "npm not found (Debian packages nodejs and npm)"; exit 1; }

want=$(sha256sum "$SDK_DIR/package-lock.json" | cut -d' ' -f1)
if [[ -f $STAMP && $(cat "$STAMP") == "$want" ]]; then
    exit 0
fi

log "npm ci in $SDK_DIR"
npm ci --prefix "$SDK_DIR" --no-audit --no-fund --loglevel=error >&2
echo "$want" >"$STAMP"
