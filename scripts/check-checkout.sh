#!/usr/bin/env bash
# check-checkout.sh: the first step of `make up` and `make test`. PostgreSQL, PgBouncer and the
# service run as the unprivileged `postgres` account (PostgreSQL refuses root), and they read this
# checkout: the TAP tests, the SDK scripts, the built service, the sanitizers' private PostgreSQL,
# the local topology's data. A checkout that account cannot reach (root's home, /root, is mode
# 0700 on Debian) would fail late and obscurely, so this stops the run at once with what to do.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ACCOUNT=postgres

# The first directory, from the checkout up to /, that others cannot pass through (or, for the
# checkout itself, read). Before PostgreSQL is installed there is no postgres account yet: it will
# be neither owner nor group of root's directories, so the "others" bits decide.
blocking_directory() {
    local dir=$REPO mode
    mode=$(stat -c %A "$dir")
    [[ ${mode:7:1} == r ]] || { echo "$dir"; return; }
    while :; do
        mode=$(stat -c %A "$dir")
        [[ ${mode:9:1} == [xt] ]] || { echo "$dir"; return; }
        [[ $dir == / ]] && return
        dir=$(dirname "$dir")
    done
}

if id -u "$ACCOUNT" >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
    runuser -u "$ACCOUNT" -- test -r "$REPO/Makefile" -a -x "$REPO/scripts" && exit 0
    blocked=$(blocking_directory)
    blocked=${blocked:-$REPO}
else
    blocked=$(blocking_directory)
    [[ -n $blocked ]] || exit 0
fi
[[ $blocked == "$REPO" ]] && fix="chmod o+rx $blocked" || fix="chmod o+x $blocked"
echo "flag_eval: the '$ACCOUNT' account, which runs PostgreSQL for make up and make test, cannot" \
    "read this checkout ($blocked is mode $(stat -c %a "$blocked")): clone it into a directory" \
    "every account can reach, such as /srv or /opt (or run: $fix)." >&2
exit 1
