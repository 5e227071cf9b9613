#!/usr/bin/env bash
# The dashboard overview with 1,000,000 and then 10,000,000 payments in PostgreSQL, one every
# 30 seconds (so the last 30 days hold about 86,000 payments whatever the total).
#
#   bench/overview.sh                       # 1M, then grows the same database to 10M
#   BENCH_SIZES="200000" bench/overview.sh  # a quick run
#
# For each size the roll-up is emptied (as on the first start after an upgrade), the server
# fills it in (its time is printed), and then the server time (`Server-Timing: app;dur=…`)
# of the overview is measured, with the payments list's first page (an indexed read of 50
# rows with the same session and layout) as the baseline in the same run, and the 30-day
# aggregate the overview ran before the roll-up, timed in PostgreSQL (EXPLAIN ANALYZE).
#
# Settings (environment): BENCH_SIZES, BENCH_REPEAT (30), BENCH_PORT (18490),
# BENCH_SKIP_BUILD=1, PGHOST/PGPORT/PGUSER, CARGO_TARGET_DIR. Writes
# bench/results/overview.md. Traffic goes only to 127.0.0.1; the database is dropped on exit.

set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres_shop.sh"
SIZES="${BENCH_SIZES:-1000000 10000000}"
REPEAT="${BENCH_REPEAT:-30}"
PORT="${BENCH_PORT:-18490}"

bench_setup overview
PASSWORD="bench-password-$$"
"$BIN" user create --merchant "$MERCHANT" --email bench@shop.example --password "$PASSWORD" >/dev/null

# Payments number FROM+1..TO, the TO-th the oldest; a fiftieth in live mode.
seed() {
  psql -q -v ON_ERROR_STOP=1 -d "$DB" <<SQL
INSERT INTO payments (id, merchant_id, livemode, source, status, currency, amount_minor,
    refunded_minor, reference, customer_name, customer_email, metadata, methods, created_at,
    expires_at, updated_at)
SELECT 'pay_' || md5(g::text || '$MERCHANT'), '$MERCHANT', (g % 50 = 0),
       (ARRAY['native','native','native','paygate','pakhipay','xpay','waypay','kazawallet'])[1 + g % 8],
       CASE WHEN g <= 100 THEN 'pending' ELSE
       (ARRAY['succeeded','succeeded','succeeded','expired','expired','canceled','failed','refunded'])[1 + (g / 7) % 8] END,
       (ARRAY['PKR','PKR','PKR','USD'])[1 + g % 4], 1000 + (g % 50000) * 100,
       CASE WHEN (g / 7) % 8 = 7 THEN 1000 + (g % 50000) * 100 ELSE 0 END,
       'ORDER-' || g, 'Customer ' || g, 'c' || g || '@example.com', '{}', '["card"]',
       now() - (g || ' seconds')::interval * 30,
       now() - (g || ' seconds')::interval * 30 + interval '1 hour',
       now() - (g || ' seconds')::interval * 30
FROM generate_series($1 + 1, $2) AS g;
ANALYZE payments;
SQL
}

percentile() { # p values...
  local p=$1; shift
  printf '%s\n' "$@" | sort -n | awk -v p="$p" '{a[NR]=$1} END {i=int((NR*p+99)/100); if(i<1)i=1; print a[i]}'
}

server_times() { # path -> REPEAT server times (ms), after 3 warm-up requests
  local path=$1
  for _ in 1 2 3; do curl -s -b "$WORK/jar" -o /dev/null "$URL$path"; done
  for _ in $(seq 1 "$REPEAT"); do
    curl -s -b "$WORK/jar" -o /dev/null -D - "$URL$path" | tr -d '\r' | awk -F'dur=' '/^server-timing/ {print $2}'
  done
}

sign_in() {
  local csrf
  csrf=$(curl -s -c "$WORK/jar" "$URL/dashboard/login" | grep -o 'name="csrf" value="[^"]*"' | cut -d'"' -f4)
  curl -s -b "$WORK/jar" -c "$WORK/jar" -o /dev/null -X POST "$URL/dashboard/login" \
    --data-urlencode "email=bench@shop.example" --data-urlencode "password=$PASSWORD" \
    --data-urlencode "csrf=$csrf"
}

mkdir -p bench/results
OUT=bench/results/overview.md
{
  echo "# Dashboard overview (PostgreSQL), commit $(git rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Server time from Server-Timing (ms), $REPEAT requests each after 3 warm-up requests;"
  echo "the payments list's first page is the baseline measured in the same run."
  echo
  echo "| payments | roll-up filled in (s) | overview p50 | p95 | list p50 | p95 | overview / list (p50) | 30-day aggregate without the roll-up (ms) |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$OUT"

seeded=0
for size in $SIZES; do
  echo "seeding payments $((seeded + 1))..$size ..."
  started=$(date +%s)
  seed "$seeded" "$size"
  seeded=$size
  echo "seeded in $(( $(date +%s) - started )) s"
  # As on the first start after an upgrade: no roll-up yet.
  psql -q -d "$DB" -c "DELETE FROM payment_hours; DELETE FROM payment_rollups"

  started=$(date +%s.%N)
  bench_serve "$PORT"
  for _ in $(seq 1 6000); do
    filled=$(psql -At -d "$DB" -c "SELECT count(*) FROM payment_rollups WHERE merchant_id = '$MERCHANT' AND filled_from = 'epoch'")
    [ "$filled" = 2 ] && break
    sleep 0.2
  done
  [ "$filled" = 2 ] || { echo "the roll-up was not filled in" >&2; exit 1; }
  fill=$(python3 -c "print(round($(date +%s.%N) - $started, 1))")
  sign_in
  mapfile -t over < <(server_times /dashboard)
  mapfile -t list < <(server_times /dashboard/payments)
  since=$(date -u +%Y-%m-01)
  thirty=$(date -u -d '-29 days' +%Y-%m-%d)
  [[ "$thirty" < "$since" ]] && since=$thirty
  before=$(psql -At -d "$DB" -c "EXPLAIN (ANALYZE, FORMAT JSON) SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, currency, status, COUNT(*), SUM(amount_minor), SUM(refunded_minor) FROM payments WHERE merchant_id = '$MERCHANT' AND livemode = false AND created_at >= '$since' GROUP BY 1, 2, 3" \
    | python3 -c 'import json,sys; print(round(json.load(sys.stdin)[0]["Execution Time"], 1))')
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  o50=$(percentile 50 "${over[@]}"); o95=$(percentile 95 "${over[@]}")
  l50=$(percentile 50 "${list[@]}"); l95=$(percentile 95 "${list[@]}")
  ratio=$(python3 -c "print(round($o50 / $l50, 2))")
  echo "| $size | $fill | $o50 | $o95 | $l50 | $l95 | $ratio | $before |" >>"$OUT"
done
cat "$OUT"
