#!/usr/bin/env bash
# Runs the voice server (name, master and game server in one process) with its
# embedded default configuration, after installing missing system packages.
# Extra arguments go to `voice-server run` (e.g. --config FILE, --role game).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo run --release -p voice-server -- run "$@"
