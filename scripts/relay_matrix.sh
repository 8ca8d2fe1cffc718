#!/usr/bin/env bash
# Relay performance matrix with the real server and the load harness on this
# machine: for each (room size, game workers, flush window) it starts
# `voice-server run` with that configuration, runs `loadtest` against it with
# every client of every room speaking or with 2 speakers, and prints one line
# per case (delivered frames/s, delivery, latency p50/p99, server CPU µs per
# delivered frame). JSON summaries stay in $OUT.
#
# Usage: scripts/relay_matrix.sh [--quick]
#   ROOM_SIZES="10 25 50" WORKERS="1 2" WINDOWS_US="0 500" CLIENTS=100
#   SPEAKERS=all DURATION=15 ENCRYPT=0 OUT=target/relay-matrix scripts/relay_matrix.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROOM_SIZES=${ROOM_SIZES:-"10 25 50"}
WORKERS=${WORKERS:-"1 2"}
WINDOWS_US=${WINDOWS_US:-"0"}
CLIENTS=${CLIENTS:-100}        # clients in total per case (rounded to whole rooms)
SPEAKERS=${SPEAKERS:-all}      # speakers per room: a number, or "all"
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-5}
ENCRYPT=${ENCRYPT:-0}
OUT=${OUT:-target/relay-matrix}
if [[ "${1:-}" == "--quick" ]]; then DURATION=5; WARMUP=2; fi

target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p voice-server --bin voice-server
cargo build --release -q -p examples --example loadtest
server_bin="$target/release/voice-server"
loadtest_bin="$target/release/examples/loadtest"
mkdir -p "$OUT"

printf '%-6s %-7s %-9s %-8s %-9s %-10s %-8s %-8s %-8s %s\n' \
  room workers window_us clients frames/s delivery p50_ms p99_ms cpu_us/f result
for size in $ROOM_SIZES; do
  rooms=$(( (CLIENTS + size - 1) / size ))
  speakers=$SPEAKERS
  if [[ "$SPEAKERS" == all ]]; then speakers=$size; fi
  for workers in $WORKERS; do
    for window in $WINDOWS_US; do
      suffix=""
      enc=()
      if [[ "$ENCRYPT" == 1 ]]; then suffix="-enc"; enc=(--encrypt); fi
      name="room${size}-w${workers}-f${window}${suffix}"
      config="$OUT/$name.toml"
      cat > "$config" <<EOF
[cluster]
game_workers = $workers

[relay]
flush_window_us = $window
EOF
      RUST_LOG=warn "$server_bin" run --config "$config" > "$OUT/$name.server.log" 2>&1 &
      server=$!
      sleep 1.5
      set +e
      "$loadtest_bin" --server 127.0.0.1:5058 --rooms "$rooms" --clients-per-room "$size" \
        --speakers-per-room "$speakers" --duration "$DURATION" --warmup "$WARMUP" \
        --server-pid "$server" --json "$OUT/$name.json" --quiet "${enc[@]}" > "$OUT/$name.log" 2>&1
      status=$?
      set -e
      kill -INT "$server" 2>/dev/null || true
      wait "$server" 2>/dev/null || true
      python3 - "$OUT/$name.json" "$size" "$workers" "$window" "$status" <<'PY'
import json, sys
path, size, workers, window, status = sys.argv[1:]
try:
    s = json.load(open(path))
except Exception as e:
    print(f"{size:<6} {workers:<7} {window:<9} (no summary: {e})")
    sys.exit(0)
fps = s["frames_delivered"] / s["duration_s"]
lat = {k: (v if v is not None else float("nan")) for k, v in s["latency_ms"].items()}
cpu = s.get("server_cpu_us_per_delivered_frame")
cpu = f"{cpu:.2f}" if cpu is not None else "-"
print(f"{size:<6} {workers:<7} {window:<9} {s['clients']:<8} {fps:<9.0f} {s['delivery_ratio']:<10.4f} "
      f"{lat['p50']:<8.2f} {lat['p99']:<8.2f} {cpu:<8} {'pass' if status == '0' else 'FAIL'}"
      f"  server_cpu_s={s.get('server_cpu_s')}")
PY
    done
  done
done
