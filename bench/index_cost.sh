#!/usr/bin/env bash
# What each secondary index on `payments` and `events` costs a create, measured inside
# PostgreSQL: pgbench inserts a payment and its event in one statement (the shape of Hundi's
# create, with an order reference and a customer e-mail as shop plugins send them) into the
# real schema, at 32 connections, first with every index (the baseline), then with each
# non-unique index dropped in turn, then with all of them dropped, then the baseline again (how
# much the machine drifted meanwhile). Unique indexes enforce rules and are not candidates.
#
#   bench/index_cost.sh
#   BENCH_DURATION=5 bench/index_cost.sh     # a quick run
#
# Settings (environment): BENCH_DURATION (10 s per run), BENCH_WARMUP (2), BENCH_CONNS (32),
# BENCH_SKIP_BUILD=1, PGHOST/PGPORT/PGUSER, CARGO_TARGET_DIR. Writes
# bench/results/index_cost.md. The database is dropped on exit.

set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres_shop.sh"
DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-2}"
CONNS="${BENCH_CONNS:-32}"
JOBS=$((CONNS < 2 ? CONNS : 2))

bench_setup index_cost
export PGOPTIONS="-c client_min_messages=warning"
cat >"$WORK/create.sql" <<SQL
\set n random(1, 1000000000)
WITH payment AS (INSERT INTO payments (id, merchant_id, livemode, key_id, source, status,
    currency, amount_minor, refunded_minor, description, reference, customer_email, metadata,
    methods, created_at, expires_at, updated_at)
  VALUES ('pay_' || lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000000)::bigint), 14, '0')
          || substr(md5(random()::text), 1, 18), '$MERCHANT', false, 'key_bench', 'native',
          'pending', 'PKR', 10000, 0, 'bench', 'ORDER-' || :n, 'c' || :n || '@example.com', '{}',
          '["card"]', now(), now() + interval '30 minutes', now())
  RETURNING id)
INSERT INTO events (id, merchant_id, livemode, type, object_id, payload, created_at, key_id)
SELECT 'evt_' || substr(md5(random()::text), 1, 24), '$MERCHANT', false, 'payment.created', id,
       '{"object":"payment","status":"pending"}', now(), 'key_bench' FROM payment;
SQL

run() { # -> TPS of one measured run on empty tables
  psql -q -d "$DB" -c "TRUNCATE payments, events CASCADE" >/dev/null
  psql -q -d "$DB" -c "CHECKPOINT" >/dev/null
  pgbench -n -c "$CONNS" -j "$JOBS" -T "$WARMUP" -f "$WORK/create.sql" "$DB" >/dev/null 2>&1
  pgbench -n -c "$CONNS" -j "$JOBS" -T "$DURATION" -f "$WORK/create.sql" "$DB" 2>/dev/null \
    | awk '/^tps/ {printf "%d", $3}'
}

mapfile -t INDEXES < <(psql -At -d "$DB" -c "SELECT indexname FROM pg_indexes
  WHERE tablename IN ('payments', 'events') AND indexdef NOT LIKE 'CREATE UNIQUE%'
  ORDER BY tablename DESC, indexname")
declare -A DEF
for i in "${INDEXES[@]}"; do
  DEF[$i]=$(psql -At -d "$DB" -c "SELECT indexdef FROM pg_indexes WHERE indexname = '$i'")
done

echo "baseline: every index ..."
base=$(run)
echo "  $base tps"
mkdir -p bench/results
OUT=bench/results/index_cost.md
{
  echo "# Cost of each index to a create (pgbench, $CONNS connections, ${DURATION} s), commit $(git rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "| without | TPS | ratio to every index ($base TPS) |"
  echo "|---|---:|---:|"
} >"$OUT"
for i in "${INDEXES[@]}"; do
  psql -q -d "$DB" -c "DROP INDEX $i"
  tps=$(run)
  psql -q -d "$DB" -c "${DEF[$i]}"
  ratio=$(python3 -c "print(round($tps / $base, 3))")
  echo "  without $i: $tps tps ($ratio)"
  echo "| $i | $tps | $ratio |" >>"$OUT"
done
for i in "${INDEXES[@]}"; do psql -q -d "$DB" -c "DROP INDEX $i"; done
tps=$(run)
echo "| all ${#INDEXES[@]} above | $tps | $(python3 -c "print(round($tps / $base, 3))") |" >>"$OUT"
for i in "${INDEXES[@]}"; do psql -q -d "$DB" -c "${DEF[$i]}"; done
again=$(run)
echo "| none (the baseline again: drift) | $again | $(python3 -c "print(round($again / $base, 3))") |" >>"$OUT"
cat "$OUT"
