#!/usr/bin/env bash
# Worst bodies per front door, on a release build: each request's time (and the server's CPU
# time) and the server's peak memory (VmHWM from /proc, reset before each request), against a
# baseline of a small valid body. The bodies are the kinds tests/it/worst_bodies.rs sends (deep
# nesting, many fields, long strings and keys, huge numbers, many numeric fields, repeated
# keys), each just under the 1 MiB body limit and, for the doors that take at most 64 KiB, just
# under that too. Figures: docs/performance.md.
#
#   bench/worst_bodies.sh                 # builds `cargo build --release`, then measures
#   BENCH_SKIP_BUILD=1 bench/worst_bodies.sh
#
# Settings (environment): BENCH_SKIP_BUILD=1 uses the binary already built; BENCH_PROFILE
# (default release) picks target/PROFILE/hundi (debug: a quick look, not figures); CARGO_TARGET_DIR
# is honoured; BENCH_RESULTS_DIR (default bench/results) receives worst_bodies.md.
# Exit status: 0 when no request got a 5xx, 2 when some did, 1 when the benchmark failed.
# Traffic goes only to 127.0.0.1; every server started here is stopped, its files removed.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
RESULTS_DIR="${BENCH_RESULTS_DIR:-$REPO/bench/results}"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  cargo build --release --bin hundi >&2
fi
HUNDI="$TARGET_DIR/${BENCH_PROFILE:-release}/hundi"
[[ -x "$HUNDI" ]] || { echo "no binary at $HUNDI" >&2; exit 1; }

TMP="$(mktemp -d /tmp/hundi-worst.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$RESULTS_DIR"

echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo ' (with uncommitted changes)'), $(nproc) CPUs" >&2
status=0
python3 "$REPO/bench/worst_bodies.py" "$HUNDI" "$TMP" > "$RESULTS_DIR/worst_bodies.md" || status=$?
cat "$RESULTS_DIR/worst_bodies.md"
exit "$status"
