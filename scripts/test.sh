#!/usr/bin/env bash
# The whole test suite: every crate's tests, benches compiled, and the
# transport core built without tokio. Installs missing system packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
echo "== transport builds without its tokio feature"
cargo build -p transport --no-default-features
echo "== tests"
cargo test --workspace --all-targets --no-fail-fast
echo "== doc tests"
cargo test --workspace --doc
echo "== benches compile"
cargo bench --workspace --no-run
