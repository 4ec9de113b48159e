#!/usr/bin/env bash
# Installs every Debian package flag_eval needs to build, test and benchmark, each below with what
# it is for. Debian 12 (bookworm), run as root. Everything comes from Debian's archive; npm
# packages are installed by scripts/install-npm-deps.sh.
#
# Fast when everything is present: one dpkg-query, and apt-get runs only for
# what is missing. Safe to run again and again (`make test` calls it each time).
set -euo pipefail

PACKAGES=(
    # PostgreSQL 15: server, client (psql, pg_isready, PostgreSQL::Test perl
    # modules), headers and PGXS, libpq
    postgresql-15
    postgresql-client-15
    postgresql-server-dev-15
    libpq-dev
    # PGXS compiles LLVM bitcode with clang-14 and installs it with llvm-lto; the fuzz targets
    # are built by clang-14 with libFuzzer and the sanitizers from its runtime
    clang-14
    llvm-14
    llvm-14-dev
    libclang-rt-14-dev
    # C++ toolchain
    build-essential
    g++
    make
    pkg-config
    # engine and service libraries
    libxxhash-dev
    libssl-dev
    libre2-dev
    libboost1.81-dev
    libboost-json1.81-dev
    libboost-url1.81-dev
    zlib1g-dev
    # flag-decide's allocator (the runtime library is all it links; see the Makefile)
    libtcmalloc-minimal4
    # local topology and tests
    pgbouncer
    libgtest-dev
    libgmock-dev
    libbenchmark-dev
    perl
    libipc-run-perl
    wrk
    curl
    # bench/report/unleash.py: latency plots (PNG)
    gnuplot-nox
    # runuser (servers run as the unprivileged postgres account) and flock
    util-linux
    # make lint: the C++ layout of .clang-format, and the shell scripts
    clang-format-14
    shellcheck
    # the browser that runs posthog-js in the TAP tests (driven by puppeteer-core from npm)
    chromium
    # Debian's python3 (/usr/bin/python3): the drills, the fuzz seed generator, the SQL-literal
    # check; standard library only
    python3
)

# Node.js and npm run the PostHog SDKs the TAP tests drive. Debian 12 ships Node 18 (the tests
# support it); a machine that already has a Node.js >= 18 with npm on PATH (NodeSource's, say,
# whose nodejs package provides npm and conflicts with Debian's) keeps it.
NODE_PACKAGES=(nodejs npm)
node_usable() {
    command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 \
        && node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' 2>/dev/null
}
node_usable || PACKAGES+=("${NODE_PACKAGES[@]}")

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: must run as root (apt-get install)" >&2
    exit 1
fi

# Which of PACKAGES are not fully installed ("ii")? Unknown packages make
# dpkg-query print to stderr and exit 1; they simply count as missing.
missing_packages() {
    local installed
    installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null \
        | awk '$2 == "ii" { print $1 }' || true)
    local p
    for p in "${PACKAGES[@]}"; do
        if ! grep -qxF -- "$p" <<<"$installed"; then
            echo "$p"
        fi
    done
}

mapfile -t missing < <(missing_packages)

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: all ${#PACKAGES[@]} packages are present"
    exit 0
fi

echo "install-deps: missing ${#missing[@]} of ${#PACKAGES[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o Acquire::Retries=3 update
apt-get -o Acquire::Retries=3 install -y --no-install-recommends "${missing[@]}"

mapfile -t still_missing < <(missing_packages)
if [[ ${#still_missing[@]} -ne 0 ]]; then
    echo "install-deps: still missing after apt-get install: ${still_missing[*]}" >&2
    exit 1
fi

# The postgresql package may have created and started a `main` cluster on 5432.
# It is left alone: nothing in this project uses it (tests run their own
# throw-away clusters, see scripts/with-temp-cluster.sh).
echo "install-deps: all ${#PACKAGES[@]} packages are present"
