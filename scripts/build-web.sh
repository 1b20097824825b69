#!/bin/bash
# Builds the dashboard: web/ sources -> web/dist/ (served by `treatylog serve` at /).
# Installs the pinned node packages from web/package-lock.json with `npm ci` (from the npm cache
# when offline: --prefer-offline), then bundles with esbuild (web/build.mjs). Idempotent and
# fast when nothing changed: npm ci runs only when the lock file is newer than node_modules,
# the bundle only when a source is newer than web/dist/index.html. FORCE=1 rebuilds.
set -euo pipefail
cd "$(dirname "$0")/../web"
command -v node >/dev/null && command -v npm >/dev/null || { echo "build-web: node and npm (>= 18) are needed" >&2; exit 2; }
stamp=node_modules/.package-lock.json
if [ "${FORCE:-0}" = 1 ] || [ ! -e "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci --prefer-offline --no-audit --no-fund --loglevel=error
fi
if [ "${FORCE:-0}" = 1 ] || [ ! -e dist/index.html ] ||
   [ -n "$(find src index.html style.css build.mjs package-lock.json -newer dist/index.html -print -quit)" ]; then
  node build.mjs
else
  echo "web: dist/ up to date"
fi
