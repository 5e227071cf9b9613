#!/usr/bin/env bash
# Does pruning webhook history block payment creation? A PostgreSQL database holding 10
# million delivery attempts older than their 90-day keep (100,000 old events, each with a
# finished delivery of 100 attempts); creates from 8 connections, first alone (the
# baseline), then while `hundi prune` removes the old attempts. Prints the creates' p50 and
# p99 in both windows and the prune's rate, and writes them to bench/results/prune.md.
#
#   bench/prune_during_creates.sh
#   BENCH_ATTEMPTS=1000000 bench/prune_during_creates.sh
#
# Settings (environment):
#   BENCH_ATTEMPTS     old attempts to seed (a multiple of 100)   (default 10000000)
#   BENCH_SECONDS      length of each load window                 (default 30)
#   BENCH_SKIP_BUILD=1 use the release binary already built
#   BENCH_PORT         port for hundi                             (default 18490)
#   PGHOST/PGPORT/PGUSER  PostgreSQL on the loopback              (127.0.0.1/5432/postgres)
#   CARGO_TARGET_DIR   honoured for the build and to find the binary
# Traffic goes only to 127.0.0.1; the database created here is dropped on exit.

set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres_shop.sh"
ATTEMPTS="${BENCH_ATTEMPTS:-10000000}"
SECONDS_EACH="${BENCH_SECONDS:-30}"
PORT="${BENCH_PORT:-18490}"
PRUNE=""
bench_on_exit '[ -n "$PRUNE" ] && kill "$PRUNE" 2>/dev/null'

bench_setup prune
DELIVERIES=$((ATTEMPTS / 100))

echo "seeding $ATTEMPTS old delivery attempts ..."
seed_started=$(date +%s)
psql -q -v ON_ERROR_STOP=1 -d "$DB" <<SQL
INSERT INTO webhook_endpoints (id, merchant_id, livemode, url, events, enabled, secret, created_at,
    updated_at, format)
VALUES ('we_bench', '$MERCHANT', false, 'https://shop.example/hook', ',*,', false, 'whsec_bench',
    now() - interval '200 days', now(), 'native');
INSERT INTO events (id, merchant_id, livemode, type, object_id, payload, created_at)
SELECT 'evt_old_' || g, '$MERCHANT', false, 'payment.created', 'pay_old_' || g, '{}',
       now() - interval '200 days'
FROM generate_series(1, $DELIVERIES) g;
INSERT INTO webhook_deliveries (id, event_id, endpoint_id, merchant_id, livemode, status, attempts,
    next_attempt_at, last_status, created_at, completed_at)
SELECT 'whd_old_' || g, 'evt_old_' || g, 'we_bench', '$MERCHANT', false, 'failed', 100,
       now() - interval '200 days', 500, now() - interval '200 days', now() - interval '199 days'
FROM generate_series(1, $DELIVERIES) g;
INSERT INTO webhook_attempts (id, delivery_id, attempted_at, status_code, latency_ms, response_body)
SELECT 'wha_old_' || g, 'whd_old_' || (1 + g % $DELIVERIES), now() - interval '200 days'
       + (g || ' milliseconds')::interval, 500, 40, 'upstream error'
FROM generate_series(1, $ATTEMPTS) g;
ANALYZE;
SQL
echo "seeded in $(( $(date +%s) - seed_started )) s"

# The server itself keeps everything: the prune in the second window is the CLI's, the same
# batches the server's worker runs.
bench_serve "$PORT" HUNDI_KEEP_DELIVERY_ATTEMPTS=forever HUNDI_RATE_LIMIT=100000
python3 bench/create_latency.py "$URL" "$KEY" 3 8 >/dev/null # warm-up
alone=$(python3 bench/create_latency.py "$URL" "$KEY" "$SECONDS_EACH" 8)
echo "creates alone:        $alone"

before=$(psql -At -d "$DB" -c "SELECT count(*) FROM webhook_attempts")
prune_started=$(date +%s.%N)
"$BIN" prune >"$WORK/prune.out" 2>&1 &
PRUNE=$!
during=$(python3 bench/create_latency.py "$URL" "$KEY" "$SECONDS_EACH" 8)
window_s=$(python3 -c "print(f'{$(date +%s.%N) - $prune_started:.1f}')")
left=$(psql -At -d "$DB" -c "SELECT count(*) FROM webhook_attempts")
removed=$((before - left))
echo "creates during prune: $during"
echo "pruned $removed attempts in the ${window_s}s window"
kill "$PRUNE" 2>/dev/null || true
PRUNE=""

field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
mkdir -p bench/results
{
  echo "# Creates while $ATTEMPTS old delivery attempts are pruned (PostgreSQL)"
  echo
  echo "commit $commit, $(nproc) cores, $(date -u +%F), 8 connections, ${SECONDS_EACH}s per window"
  echo
  echo "| window | creates/s | p50 ms | p99 ms | max ms |"
  echo "|---|---:|---:|---:|---:|"
  echo "| creates alone (baseline) | $(field "$alone" per_second) | $(field "$alone" p50_ms) | $(field "$alone" p99_ms) | $(field "$alone" max_ms) |"
  echo "| creates while \`hundi prune\` runs | $(field "$during" per_second) | $(field "$during" p50_ms) | $(field "$during" p99_ms) | $(field "$during" max_ms) |"
  echo
  echo "The prune removed $removed attempts in the ${window_s} s window ($(python3 -c "print(round($removed / $window_s))") a second)."
} | tee bench/results/prune.md
