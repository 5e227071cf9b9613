#!/usr/bin/env bash
# Benchmark of the dashboard's payments list with a million payments in PostgreSQL: the server
# time (the page's `Server-Timing: app;dur=…`, measured inside Hundi around the whole handler:
# session, query, rendering) of the first page, each filter, a search and a deep keyset page.
#
#   bench/dashboard_list.sh            # seeds 1,000,000 payments (about a minute), then measures
#   BENCH_ROWS=200000 bench/dashboard_list.sh
#
# Settings (environment):
#   BENCH_ROWS         payments to seed                       (default 1000000)
#   BENCH_REPEAT       requests per page kind                 (default 30)
#   BENCH_SKIP_BUILD=1 use the release binary already built
#   BENCH_PORT         port for hundi                         (default 18480)
#   BENCH_KEEP_DB=1    keep the seeded database (to EXPLAIN its queries)
#   PGHOST/PGPORT/PGUSER  PostgreSQL on the loopback          (127.0.0.1/5432/postgres)
#   CARGO_TARGET_DIR   honoured for the build and to find the binary
#
# Prints a table of p50 / p95 / max server time per page kind and writes it to
# bench/results/dashboard_list.md. The target: every page under 100 ms.
# Traffic goes only to 127.0.0.1; the database created here is dropped on exit.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
ROWS="${BENCH_ROWS:-1000000}"
REPEAT="${BENCH_REPEAT:-30}"
PORT="${BENCH_PORT:-18480}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
DB="hundi_bench_dash_$$"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
BIN="$TARGET/release/hundi"
WORK="$(mktemp -d)"
PID=""

cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  if [ "${BENCH_KEEP_DB:-0}" = 1 ]; then
    echo "kept the database $DB"
  else
    psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release --locked -q
fi

psql -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DB"
export HUNDI_DATABASE_URL="$URL" HUNDI_MASTER_KEY_FILE="$WORK/hundi.key"
"$BIN" migrate >/dev/null
MERCHANT=$("$BIN" merchant create --name "Bench Shop" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
PASSWORD="bench-password-$$"
"$BIN" user create --merchant "$MERCHANT" --email bench@shop.example --password "$PASSWORD" >/dev/null
# Another merchant's rows share the table and its indexes.
OTHER=$("$BIN" merchant create --name "Other Shop" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

echo "seeding $ROWS payments (plus $((ROWS / 10)) of another merchant) ..."
seed_started=$(date +%s)
psql -q -v ON_ERROR_STOP=1 -d "$DB" <<SQL
INSERT INTO payments (id, merchant_id, livemode, source, status, currency, amount_minor,
    refunded_minor, reference, customer_name, customer_email, metadata, methods, created_at,
    expires_at, updated_at)
SELECT 'pay_' || md5(g::text || '$MERCHANT'),
       '$MERCHANT', (g % 50 = 0),
       (ARRAY['native','native','native','paygate','pakhipay','xpay','waypay','kazawallet'])[1 + g % 8],
       -- Pending only among the newest (unexpired) payments, as in a live system.
       CASE WHEN g <= 100 THEN 'pending' ELSE
       (ARRAY['succeeded','succeeded','succeeded','expired','expired','canceled','failed','refunded'])[1 + (g / 7) % 8] END,
       'PKR', 1000 + (g % 50000) * 100, CASE WHEN (g / 7) % 8 = 7 THEN 1000 + (g % 50000) * 100 ELSE 0 END,
       'ORDER-' || g, 'Customer ' || g, 'c' || g || '@example.com', '{}', '["card"]',
       now() - (g || ' seconds')::interval * 30,
       now() - (g || ' seconds')::interval * 30 + interval '1 hour',
       now() - (g || ' seconds')::interval * 30
FROM generate_series(1, $ROWS) AS g;
INSERT INTO payments (id, merchant_id, livemode, source, status, currency, amount_minor,
    metadata, methods, created_at, expires_at, updated_at)
SELECT 'pay_' || md5(g::text || '$OTHER'), '$OTHER', false, 'native', 'succeeded', 'PKR', 5000,
       '{}', '["card"]', now() - (g || ' seconds')::interval * 300,
       now() - (g || ' seconds')::interval * 300 + interval '1 hour', now()
FROM generate_series(1, $((ROWS / 10))) AS g;
ANALYZE payments;
SQL
echo "seeded in $(( $(date +%s) - seed_started )) s"

"$BIN" serve --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

JAR="$WORK/jar"
LOGIN_CSRF=$(curl -s -c "$JAR" "http://127.0.0.1:$PORT/dashboard/login" | grep -o 'name="csrf" value="[^"]*"' | cut -d'"' -f4)
curl -s -b "$JAR" -c "$JAR" -o /dev/null -X POST "http://127.0.0.1:$PORT/dashboard/login" \
  --data-urlencode "email=bench@shop.example" --data-urlencode "password=$PASSWORD" \
  --data-urlencode "csrf=$LOGIN_CSRF"

# A cursor deep in the list: the payment about 200,000 rows down (page 4,000).
DEEP=$(psql -At -d "$DB" -c "SELECT id FROM payments WHERE merchant_id = '$MERCHANT' AND NOT livemode ORDER BY created_at DESC, id DESC OFFSET 200000 LIMIT 1")
FROM_DAY=$(date -u -d '-3 days' +%Y-%m-%d)
TO_DAY=$(date -u -d '-2 days' +%Y-%m-%d)

declare -a KINDS=(
  "first page|/dashboard/payments"
  "status=failed|/dashboard/payments?status=failed"
  "source=waypay|/dashboard/payments?source=waypay"
  "status+source|/dashboard/payments?status=failed&source=xpay"
  "date range|/dashboard/payments?from=$FROM_DAY&to=$TO_DAY"
  "search e-mail|/dashboard/payments?q=c424242%40example.com"
  "search reference|/dashboard/payments?q=ORDER-777777"
  "search name prefix|/dashboard/payments?q=Customer%2099999"
  "deep keyset page|/dashboard/payments?after=$DEEP"
  "overview|/dashboard"
)

percentile() { # p values...
  local p=$1; shift
  printf '%s\n' "$@" | sort -n | awk -v p="$p" '{a[NR]=$1} END {i=int((NR*p+99)/100); if(i<1)i=1; print a[i]}'
}

mkdir -p bench/results
OUT=bench/results/dashboard_list.md
{
  echo "# Dashboard payments list, $ROWS payments (PostgreSQL), $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Server time from Server-Timing (ms), $REPEAT requests each after 3 warm-up requests."
  echo
  echo "| page | rows shown | p50 | p95 | max |"
  echo "|---|---|---|---|---|"
} >"$OUT"
worst=0
for kind in "${KINDS[@]}"; do
  name="${kind%%|*}"; path="${kind#*|}"
  for _ in 1 2 3; do curl -s -b "$JAR" -o /dev/null "http://127.0.0.1:$PORT$path"; done
  times=()
  for _ in $(seq 1 "$REPEAT"); do
    t=$(curl -s -b "$JAR" -o "$WORK/page.html" -D - "http://127.0.0.1:$PORT$path" | tr -d '\r' | awk -F'dur=' '/^server-timing/ {print $2}')
    times+=("$t")
  done
  shown=$(grep -o 'data-payment="' "$WORK/page.html" | wc -l)
  p50=$(percentile 50 "${times[@]}"); p95=$(percentile 95 "${times[@]}"); max=$(percentile 100 "${times[@]}")
  echo "| $name | $shown | $p50 | $p95 | $max |" >>"$OUT"
  if [ "$name" != overview ]; then worst=$(python3 -c "print(max($worst, $p95))"); fi
done
echo >>"$OUT"
echo "Worst p95 of the payments list: $worst ms (target: under 100 ms). The overview aggregates the last 30 days and is shown for information." >>"$OUT"
cat "$OUT"
