#!/usr/bin/env bash
# Benchmark of `hundi db copy`: a SQLite database of 100,000 payments, each with its
# `payment.created` event, a webhook delivery and one delivery attempt, copied into an empty
# PostgreSQL database (copied, read back and checked table by table, in one transaction).
#
#   bench/db_copy.sh
#   BENCH_ROWS=20000 bench/db_copy.sh
#
# Settings (environment):
#   BENCH_ROWS         payments to seed                       (default 100000)
#   BENCH_SKIP_BUILD=1 use the release binary already built
#   PGHOST/PGPORT/PGUSER  PostgreSQL on the loopback          (127.0.0.1/5432/postgres)
#   CARGO_TARGET_DIR   honoured for the build and to find the binary
#
# The baseline, measured in the same run: PostgreSQL loading the very same rows from files
# with plain `COPY … FROM` (psql's \copy), no checks; the cheapest load PostgreSQL offers.
# Prints both times and their ratio, and writes them to bench/results/db_copy.md.
# Traffic goes only to 127.0.0.1; the databases created here are dropped on exit.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
ROWS="${BENCH_ROWS:-100000}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
COPY_DB="hundi_bench_copy_$$"
BASE_DB="hundi_bench_copy_base_$$"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
BIN="$TARGET/release/hundi"
WORK="$(mktemp -d)"

cleanup() {
  psql -q -d postgres -c "DROP DATABASE IF EXISTS $COPY_DB" >/dev/null 2>&1 || true
  psql -q -d postgres -c "DROP DATABASE IF EXISTS $BASE_DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release --locked -q
fi

export HUNDI_DATABASE_URL="sqlite://$WORK/hundi.db" HUNDI_MASTER_KEY_FILE="$WORK/hundi.key"
"$BIN" migrate >/dev/null
MERCHANT=$("$BIN" merchant create --name "Bench Shop" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

echo "seeding $ROWS payments with their events, deliveries and attempts ..."
python3 - "$WORK/hundi.db" "$MERCHANT" "$ROWS" <<'PY'
import sqlite3, sys
path, merchant, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = sqlite3.connect(path)
t0 = 1_767_225_600_000_000  # 2026-01-01, in microseconds
payload = '{"object":"payment","amount":"1000.00","currency":"PKR","metadata":{"order":"%s"},' \
          '"customer":{"name":"A Customer","email":"customer@example.com"},"pad":"' + 'x' * 500 + '"}'
db.execute("INSERT INTO webhook_endpoints (id, merchant_id, livemode, url, events, enabled, secret, "
           "created_at, updated_at, format) VALUES ('we_bench', ?, 0, 'https://shop.example/hook', "
           "',*,', 1, 'whsec_bench', ?, ?, 'native')", (merchant, t0, t0))
seq = "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?) "
db.execute(seq + "INSERT INTO payments (id, merchant_id, livemode, source, status, currency, "
    "amount_minor, refunded_minor, reference, customer_name, customer_email, metadata, methods, "
    "created_at, expires_at, updated_at, attempt_count) SELECT 'pay_' || n, ?, 0, 'native', "
    "CASE n % 4 WHEN 0 THEN 'pending' WHEN 1 THEN 'succeeded' WHEN 2 THEN 'expired' ELSE 'failed' END, "
    "'PKR', 100000 + n, 0, 'ORDER-' || n, 'Customer ' || n, 'c' || n || '@example.com', "
    "'{\"order\":\"' || n || '\"}', '[\"card\"]', ? + n * 1000, ? + n * 1000 + 3600000000, "
    "? + n * 1000, 0 FROM g", (rows, merchant, t0, t0, t0))
db.execute(seq + "INSERT INTO events (id, merchant_id, livemode, type, object_id, payload, created_at) "
    "SELECT 'evt_' || n, ?, 0, 'payment.created', 'pay_' || n, printf(?, n), ? + n * 1000 FROM g",
    (rows, merchant, payload, t0))
db.execute(seq + "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, merchant_id, livemode, "
    "status, attempts, next_attempt_at, last_status, created_at, completed_at) SELECT 'whd_' || n, "
    "'evt_' || n, 'we_bench', ?, 0, 'succeeded', 1, ? + n * 1000, 200, ? + n * 1000, ? + n * 1000 + 5000 "
    "FROM g", (rows, merchant, t0, t0, t0))
db.execute(seq + "INSERT INTO webhook_attempts (id, delivery_id, attempted_at, status_code, latency_ms, "
    "response_body) SELECT 'wha_' || n, 'whd_' || n, ? + n * 1000 + 5000, 200, 12, 'ok' FROM g",
    (rows, t0))
db.commit()
PY

psql -q -d postgres -c "CREATE DATABASE $COPY_DB" >/dev/null
COPY_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$COPY_DB"
started=$(date +%s.%N)
"$BIN" db copy --to "$COPY_URL" >"$WORK/copy.out"
copy_s=$(python3 -c "print(f'{$(date +%s.%N) - $started:.2f}')")
cat "$WORK/copy.out"

# The baseline: the same rows, from files, into the same schema, with plain COPY.
psql -q -d postgres -c "CREATE DATABASE $BASE_DB" >/dev/null
BASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$BASE_DB"
HUNDI_DATABASE_URL="$BASE_URL" "$BIN" migrate >/dev/null
TABLES="merchants webhook_endpoints payments events webhook_deliveries webhook_attempts"
for t in $TABLES; do
  psql -q -d "$COPY_DB" -c "\\copy $t TO '$WORK/$t.tsv'"
done
for t in $TABLES; do
  echo "\\copy $t FROM '$WORK/$t.tsv'"
done >"$WORK/load.sql"
started=$(date +%s.%N)
psql -q -v ON_ERROR_STOP=1 -d "$BASE_DB" -1 -f "$WORK/load.sql" >/dev/null
base_s=$(python3 -c "print(f'{$(date +%s.%N) - $started:.2f}')")

ratio=$(python3 -c "print(f'{$copy_s / $base_s:.2f}')")
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
mkdir -p bench/results
{
  echo "# hundi db copy: $ROWS payments with events, deliveries and attempts"
  echo
  echo "commit $commit, $(nproc) cores, $(date -u +%F)"
  echo
  echo "| what | seconds | ratio to plain COPY |"
  echo "|---|---:|---:|"
  echo "| PostgreSQL \`COPY FROM\` of the same rows from files (no checks) | $base_s | 1 |"
  echo "| \`hundi db copy\` (read, copy, read back, checksums, one transaction) | $copy_s | $ratio |"
} | tee bench/results/db_copy.md
