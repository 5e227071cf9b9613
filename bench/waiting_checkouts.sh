#!/usr/bin/env bash
# 10,000 checkout pages waiting on one node (PostgreSQL), each holding its /pay/{id}/events
# stream as a UPI customer's page does while they pay in their banking app: the server's CPU
# and memory and the database's transactions per second while they wait, then the time from
# a bank credit (POST /v1/credits) to the page hearing its payment succeed, for a sample.
#
#   bench/waiting_checkouts.sh
#   BENCH_PAGES=2000 BENCH_SECONDS=10 bench/waiting_checkouts.sh   # a quick run
#
# Settings (environment): BENCH_PAGES (10000), BENCH_SECONDS (30: the quiet window measured),
# BENCH_SAMPLE (200 credits), BENCH_PORT (18495), BENCH_SKIP_BUILD=1, PGHOST/PGPORT/PGUSER,
# CARGO_TARGET_DIR. The pages come from 127.0.0.2 onwards, 50 per address (customers, not one
# client). Traffic goes only to the loopback; the database is dropped on exit.

set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres_shop.sh"
PAGES="${BENCH_PAGES:-10000}"
WINDOW="${BENCH_SECONDS:-30}"
SAMPLE="${BENCH_SAMPLE:-200}"
PORT="${BENCH_PORT:-18495}"

bench_setup waiting
# Pending UPI payments, each asking for its own payable amount (as Hundi hands them out).
psql -q -v ON_ERROR_STOP=1 -d "$DB" <<SQL
INSERT INTO payments (id, merchant_id, livemode, source, status, currency, amount_minor,
    metadata, methods, upi_id, upi_name, payable_minor, created_at, expires_at, updated_at)
SELECT 'pay_wait' || g, '$MERCHANT', false, 'native', 'pending', 'INR', 100000 + g,
       '{}', '["upi"]', 'shop@okaxis', 'Bench Shop', 100000 + g,
       now(), now() + interval '2 hours', now()
FROM generate_series(1, $PAGES) AS g;
ANALYZE payments;
SQL
psql -At -F " " -d "$DB" -c "SELECT id, to_char(payable_minor / 100.0, 'FM999999990.00') FROM payments WHERE merchant_id = '$MERCHANT' ORDER BY id" >"$WORK/ids"

bench_serve "$PORT" ${BENCH_SERVE_ENV:-}
echo "opening $PAGES waiting pages against $URL (server pid $PID) ..."
RESULT=$(python3 bench/waiting_client.py "$URL" "$KEY" "$WORK/ids" "$PID" "$DB" "$WINDOW" "$SAMPLE")
echo "$RESULT" | python3 -m json.tool
mkdir -p bench/results
{
  echo "# Waiting checkout pages (PostgreSQL), commit $(git rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo '```json'
  echo "$RESULT" | python3 -m json.tool
  echo '```'
} >bench/results/waiting_checkouts.md
