#!/usr/bin/env bash
# Benchmark of the dashboard's audit log with a million entries, on SQLite and on PostgreSQL:
# the server time (the page's `Server-Timing: app;dur=…`, measured inside Hundi around the
# whole handler: session, query, rendering) of the first page, each filter, a deep keyset
# page, and the CSV export (10,000 rows, shown for information).
#
#   bench/audit_page.sh                      # both backends, 1,000,000 entries each
#   BENCH_BACKENDS=postgres BENCH_ROWS=200000 bench/audit_page.sh
#
# Settings (environment):
#   BENCH_BACKENDS     sqlite, postgres or both                (default "sqlite postgres")
#   BENCH_ROWS         entries to seed                         (default 1000000)
#   BENCH_REPEAT       requests per page kind                  (default 30)
#   BENCH_SKIP_BUILD=1 use the release binary already built
#   BENCH_PORT         port for hundi                          (default 18490)
#   PGHOST/PGPORT/PGUSER  PostgreSQL on the loopback           (127.0.0.1/5432/postgres)
#   CARGO_TARGET_DIR   honoured for the build and to find the binary
#
# Prints a table of p50 / p95 / max server time per page kind and backend and writes it to
# bench/results/audit_page.md. The target: every page under 100 ms.
# Traffic goes only to 127.0.0.1; the databases created here are removed on exit.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
ROWS="${BENCH_ROWS:-1000000}"
REPEAT="${BENCH_REPEAT:-30}"
PORT="${BENCH_PORT:-18490}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
PGDB="hundi_bench_audit_$$"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
BIN="$TARGET/release/hundi"
WORK="$(mktemp -d)"
PID=""

cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  psql -q -d postgres -c "DROP DATABASE IF EXISTS $PGDB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release --locked -q
fi

# One entry in ten is another merchant's; the shop's are spread over 12 actors and the
# actions in realistic proportions (sign-ins and refunds common, key changes rare), one
# every 30 seconds back from now (about a year for a million).
seed_rows() { # backend merchant other
  local backend=$1 m=$2 o=$3
  local series time
  if [ "$backend" = postgres ]; then
    series="generate_series(1, $ROWS) AS s(g)"
    time="now() - (g * 30 || ' seconds')::interval"
  else
    series="(WITH RECURSIVE c(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM c WHERE g < $ROWS) SELECT g FROM c)"
    time="(CAST(strftime('%s', 'now') AS INTEGER) - g * 30) * 1000000"
  fi
  cat <<SQL
INSERT INTO audit_log (id, merchant_id, mode, actor_kind, actor_id, actor_label, action,
    object_id, detail, client_addr, user_agent, created_at)
SELECT 'aud_bench_' || g,
       CASE WHEN g % 10 = 0 THEN '$o' ELSE '$m' END,
       'test',
       CASE WHEN g % 12 = 0 THEN 'cli' ELSE 'user' END,
       CASE WHEN g % 12 = 0 THEN 'cli' ELSE 'usr_bench_' || (g % 12) END,
       CASE WHEN g % 12 = 0 THEN 'command line' ELSE 'user' || (g % 12) || '@shop.example' END,
       CASE WHEN g % 100 = 1 THEN 'key.revoked'
            WHEN g % 100 < 40 THEN 'user.signed_in'
            WHEN g % 100 < 70 THEN 'refund.created'
            WHEN g % 100 < 90 THEN 'payment.canceled'
            ELSE 'settings.changed' END,
       'pay_' || g,
       '{"amount":"' || (g % 1000) || '.00","currency":"PKR"}',
       '192.0.2.' || (g % 250),
       'Mozilla/5.0 (X11; Linux x86_64) bench',
       $time
FROM $series;
SQL
}

percentile() { # p values...
  local p=$1; shift
  printf '%s\n' "$@" | sort -n | awk -v p="$p" '{a[NR]=$1} END {i=int((NR*p+99)/100); if(i<1)i=1; print a[i]}'
}

mkdir -p bench/results
OUT=bench/results/audit_page.md
{
  echo "# Dashboard audit log, $ROWS entries, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)"
  echo
  echo "Server time from Server-Timing (ms), $REPEAT requests each after 3 warm-up requests."
  echo
  echo "| backend | page | rows shown | p50 | p95 | max |"
  echo "|---|---|---|---|---|---|"
} >"$OUT"
worst=0

for backend in $BACKENDS; do
  if [ "$backend" = postgres ]; then
    psql -q -d postgres -c "CREATE DATABASE $PGDB" >/dev/null
    URL="postgres://$PGUSER@$PGHOST:$PGPORT/$PGDB"
  else
    URL="sqlite://$WORK/hundi.db"
  fi
  export HUNDI_DATABASE_URL="$URL" HUNDI_MASTER_KEY_FILE="$WORK/hundi.key"
  "$BIN" migrate >/dev/null
  MERCHANT=$("$BIN" merchant create --name "Bench Shop" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  OTHER=$("$BIN" merchant create --name "Other Shop" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  PASSWORD="bench-password-$$"
  "$BIN" user create --merchant "$MERCHANT" --email bench@shop.example --password "$PASSWORD" >/dev/null

  echo "$backend: seeding $ROWS audit entries ..."
  seed_started=$(date +%s)
  if [ "$backend" = postgres ]; then
    { seed_rows postgres "$MERCHANT" "$OTHER"; echo "ANALYZE audit_log;"; } | psql -q -v ON_ERROR_STOP=1 -d "$PGDB"
    DEEP=$(psql -At -d "$PGDB" -c "SELECT (extract(epoch FROM created_at) * 1000000)::bigint || '~' || id FROM audit_log WHERE merchant_id = '$MERCHANT' ORDER BY created_at DESC, id DESC OFFSET 500000 LIMIT 1")
  else
    { echo "PRAGMA journal_mode = WAL;"; seed_rows sqlite "$MERCHANT" "$OTHER"; echo "ANALYZE;"; } | sqlite3 "$WORK/hundi.db" >/dev/null
    DEEP=$(sqlite3 "$WORK/hundi.db" "SELECT created_at || '~' || id FROM audit_log WHERE merchant_id = '$MERCHANT' ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET 500000")
  fi
  echo "$backend: seeded in $(( $(date +%s) - seed_started )) s"

  "$BIN" serve --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  JAR="$WORK/jar"
  rm -f "$JAR"
  LOGIN_CSRF=$(curl -s -c "$JAR" "http://127.0.0.1:$PORT/dashboard/login" | grep -o 'name="csrf" value="[^"]*"' | cut -d'"' -f4)
  curl -s -b "$JAR" -c "$JAR" -o /dev/null -X POST "http://127.0.0.1:$PORT/dashboard/login" \
    --data-urlencode "email=bench@shop.example" --data-urlencode "password=$PASSWORD" \
    --data-urlencode "csrf=$LOGIN_CSRF"

  FROM_DAY=$(date -u -d '-30 days' +%Y-%m-%d)
  TO_DAY=$(date -u -d '-29 days' +%Y-%m-%d)
  declare -a KINDS=(
    "first page|/dashboard/audit"
    "action (1%)|/dashboard/audit?action=key.revoked"
    "action (none)|/dashboard/audit?action=user.two_factor_reset"
    "actor (8%)|/dashboard/audit?actor=usr_bench_5"
    "actor + rare action|/dashboard/audit?actor=usr_bench_5&action=key.revoked"
    "actor + action, no match|/dashboard/audit?actor=cli&action=key.revoked"
    "one day, a month ago|/dashboard/audit?from=$FROM_DAY&to=$TO_DAY"
    "deep keyset page|/dashboard/audit?before=$DEEP"
    "CSV, 10,000 rows|/dashboard/audit.csv"
  )
  for kind in "${KINDS[@]}"; do
    name="${kind%%|*}"; path="${kind#*|}"
    for _ in 1 2 3; do curl -s -b "$JAR" -o /dev/null "http://127.0.0.1:$PORT$path"; done
    times=()
    for _ in $(seq 1 "$REPEAT"); do
      t=$(curl -s -b "$JAR" -o "$WORK/page.html" -D - "http://127.0.0.1:$PORT$path" | tr -d '\r' | awk -F'dur=' '/^server-timing/ {print $2}')
      times+=("$t")
    done
    if [[ "$path" == *.csv* ]]; then
      shown=$(( $(wc -l <"$WORK/page.html") - 1 ))
    else
      shown=$( (grep -o 'data-testid="audit-action"' "$WORK/page.html" || true) | wc -l)
    fi
    p50=$(percentile 50 "${times[@]}"); p95=$(percentile 95 "${times[@]}"); max=$(percentile 100 "${times[@]}")
    echo "| $backend | $name | $shown | $p50 | $p95 | $max |" >>"$OUT"
    if [[ "$path" != *.csv* ]]; then worst=$(python3 -c "print(max($worst, $p95))"); fi
  done
  kill "$PID" && wait "$PID" 2>/dev/null || true
  PID=""
done

echo >>"$OUT"
echo "Worst p95 of a page: $worst ms (target: under 100 ms). The CSV export is shown for information." >>"$OUT"
cat "$OUT"
