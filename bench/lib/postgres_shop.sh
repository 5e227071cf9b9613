# Sourced by the benchmarks that run Hundi's release build against a fresh PostgreSQL database
# on the loopback (db_cost.sh, prune_during_creates.sh).
#
#   bench_setup NAME         builds (unless BENCH_SKIP_BUILD=1), creates the database
#                            hundi_bench_NAME_<pid>, migrates it, and makes a merchant with a
#                            test key: sets BIN, WORK, DB, MERCHANT, KEY
#   bench_serve PORT [VAR=VALUE...]
#                            starts `hundi serve` with those settings and waits for its
#                            health check: sets PID, URL
#   bench_on_exit COMMAND    one more command for the exit (before the server stops)
#
# On exit the server is stopped, the database dropped and the work folder removed.
# PGHOST/PGPORT/PGUSER default to 127.0.0.1/5432/postgres; CARGO_TARGET_DIR is honoured.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/hundi"
WORK="$(mktemp -d)"
DB=""
PID=""
BENCH_EXIT=""

bench_on_exit() { BENCH_EXIT="$BENCH_EXIT $1;"; }

bench_cleanup() {
  eval "$BENCH_EXIT" || true
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  [ -n "$DB" ] && psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap bench_cleanup EXIT

json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

bench_setup() {
  if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    cargo build --release --locked -q
  fi
  DB="hundi_bench_${1}_$$"
  psql -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
  export HUNDI_DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DB" HUNDI_MASTER_KEY_FILE="$WORK/hundi.key"
  "$BIN" migrate >/dev/null
  MERCHANT=$("$BIN" merchant create --name "Bench Shop" --json | json_field id)
  KEY=$("$BIN" key create --merchant "$MERCHANT" --label bench --json | json_field secret)
}

bench_serve() {
  local port=$1
  shift
  env "$@" "$BIN" serve --listen "127.0.0.1:$port" >"$WORK/serve.log" 2>&1 &
  PID=$!
  URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -sf "$URL/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "hundi serve did not start; its log:" >&2
  cat "$WORK/serve.log" >&2
  return 1
}
