#!/usr/bin/env bash
# Webhook delivery benchmark on PostgreSQL, all on 127.0.0.1:
#  - latency from a payment's completion to its webhook's arrival (p50, p99) at a steady
#    RATE completions/s for SECS seconds (targets: 200/s for 30 s, p99 <= 50 ms);
#  - peak deliveries/s draining N queued events to a fast local receiver (target >= 2,000/s).
# Usage: bench/webhooks.sh [RATE] [SECS] [N]   (PostgreSQL at HUNDI_BENCH_PG_URL)
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-200}
SECS=${2:-30}
N=${3:-20000}
PG=${HUNDI_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
cargo build --release --example webhook_bench >/dev/null
RUST_LOG=${RUST_LOG:-warn} "${CARGO_TARGET_DIR:-target}/release/examples/webhook_bench" "$PG" "$RATE" "$SECS" "$N"
