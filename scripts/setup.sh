#!/bin/bash
# Installs what treatylog needs on Debian 12 (as root; missing packages only), builds the Go
# interop oracle and configures + builds treatylog in build/ (or the dir named by $1 with
# extra cmake args after it). Idempotent; prints what it does.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libssl-dev libsodium-dev libcmocka-dev libcurl4-openssl-dev
      libsqlite3-dev libmicrohttpd-dev libjansson-dev zlib1g-dev
      golang-go golang-golang-x-mod-dev curl procps jq)
# The dashboard is bundled with node (npm packages, scripts/build-web.sh); Debian's nodejs
# and npm unless a node is already there.
command -v node >/dev/null && command -v npm >/dev/null || PKGS+=(nodejs npm)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install packages: ${missing[*]}" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD=${1:-build}
shift || true
mkdir -p "$BUILD"
SHARED=${TL_SHARED:-$(cd .. && pwd)/shared}
if [ ! -x "$BUILD/tlogverify" ] || [ "$SHARED/tools/tlogverify/main.go" -nt "$BUILD/tlogverify" ]; then
  echo "setup: building the Go oracle tlogverify"
  export GOCACHE=${GOCACHE:-$PWD/$BUILD/.gocache} GOPATH=${GOPATH:-$PWD/$BUILD/.gopath}
  "$SHARED/tools/tlogverify/build.sh" "$PWD/$BUILD/tlogverify"
fi
cmake -S . -B "$BUILD" -DTLOGVERIFY="$PWD/$BUILD/tlogverify" "$@" >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
