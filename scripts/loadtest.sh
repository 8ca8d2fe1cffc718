#!/usr/bin/env bash
# Builds the server and the load-testing harness (release), starts
# `voice-server run` (embedded configuration, or LOADTEST_SERVER_CONFIG=FILE),
# runs the harness against it with --server-pid, then stops the server.
# Arguments go to the harness, e.g.:
#   scripts/loadtest.sh --rooms 20 --clients-per-room 10 --duration 30 --json load.json
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p voice-server --bin voice-server && cargo build --release -p examples --example loadtest
target_dir="${CARGO_TARGET_DIR:-target}"
server_args=(run)
if [ -n "${LOADTEST_SERVER_CONFIG:-}" ]; then
    server_args+=(--config "$LOADTEST_SERVER_CONFIG")
fi
"$target_dir/release/voice-server" "${server_args[@]}" >"${LOADTEST_SERVER_LOG:-/tmp/loadtest-server.log}" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true' EXIT
# Wait until the name server's TCP port answers (the server is up).
for _ in $(seq 1 100); do
    if (exec 3<>/dev/tcp/127.0.0.1/4533) 2>/dev/null; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "voice-server exited; see ${LOADTEST_SERVER_LOG:-/tmp/loadtest-server.log}" >&2
        exit 2
    fi
    sleep 0.1
done
set +e
"$target_dir/release/examples/loadtest" --server-pid "$server_pid" "$@"
status=$?
exit "$status"
