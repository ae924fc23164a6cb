#!/usr/bin/env bash
# Installs the Debian packages memoria needs to build, test and benchmark.
# As root: apt-get installs whatever is missing. Otherwise: prints the exact
# command to run and fails, so nothing half-works.
set -eu

PKGS="gcc make pkg-config libevent-dev libcmocka-dev clang libclang-rt-14-dev
      libsasl2-dev libsasl2-modules sasl2-bin libssl-dev openssl libseccomp-dev
      memcached iproute2 python3 python3-pytest python3-pytest-xdist
      python3-pymemcache python3-pylibmc python3-memcache python3-prometheus-client
      valgrind clang-format clang-tidy"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
# node and npm run memjs, a binary-protocol client (tests/proto/
# test_binary_clients.py; memjs itself goes to build/npm). A nodejs from
# elsewhere (nodesource ships npm inside it) is fine: only the commands count.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "memoria needs these Debian packages:$missing" >&2
    echo "install them with:  sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
