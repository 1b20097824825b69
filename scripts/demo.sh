#!/bin/bash
# The main job: sets up and builds (Debian packages, the oracle, treatylog, the dashboard),
# then runs `treatylog demo`: a live treaty log on loopback with seven parties and three
# neutral witnesses (2-of-3 quorum), a scenario of public events of 2021-2023 replayed on an
# accelerated clock, every finding printed as it appears with its evidence file, and the
# dashboard URL. The log keeps running until Ctrl-C.
# Usage: scripts/demo.sh [OUT_DIR] (default out/demo; replaced on each run).
# TL_DEMO_LISTEN sets the address (default 127.0.0.1:8420; 127.0.0.1:0 for any free port).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build >/dev/null
scripts/build-web.sh >/dev/null
D=${1:-$PWD/out/demo}
rm -rf "$D"
mkdir -p "$(dirname "$D")"
exec build/treatylog demo --dir "$D" --listen "${TL_DEMO_LISTEN:-127.0.0.1:8420}"
