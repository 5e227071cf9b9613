#!/usr/bin/env bash
# Benchmark of payment creation (POST /v1/payments) on PostgreSQL and SQLite, with
# PostgreSQL's own ceiling measured by pgbench, a rate-limited latency run, and idle RSS.
#
#   bench/create_payments.sh                      # full run (~6 minutes)
#   BENCH_DURATION=3 BENCH_WARMUP=1 BENCH_RATE_DURATION=3 bench/create_payments.sh   # quick
#
# Settings (environment):
#   BENCH_DURATION       seconds per measured load run                 (default 10)
#   BENCH_WARMUP         seconds of warm-up before each measured run   (default 3)
#   BENCH_CONNS          connection/client counts                      (default "1 8 32 64")
#   BENCH_RATE_DURATION  seconds of the rate-limited run               (default 10)
#   BENCH_RATE_CONNS     connections of the rate-limited run           (default 32)
#   BENCH_IDLE_WAIT      idle seconds before reading RSS               (default 3)
#   BENCH_PARTS          which parts to run: any of "postgres sqlite rss" (default all)
#   BENCH_SKIP_BUILD=1   use the binary already built
#   BENCH_SOURCE=REV     build a clean `git archive` export of commit REV (e.g. HEAD)
#                        instead of the working tree
#   BENCH_QUIET_PCT      before each measured run, wait until the machine is at most this
#                        busy (% of one core, 1 s sample)             (default 20)
#   BENCH_QUIET_WAIT     ... but wait at most this many seconds; 0 = don't wait (default 120)
#   BENCH_MAX_OTHER      a run during which other processes used more than this (% of one
#                        core, not hundi/postgres/load generator) is repeated (default 30)
#   BENCH_RETRIES        ... at most this many times; the last one is kept, marked noisy (default 2)
#   BENCH_PORT           first port to try for hundi                   (default 18400)
#   BENCH_RESULTS_DIR    where latest.md and raw outputs go            (default bench/results)
#   HUNDI_DB_POOL_SIZE   PostgreSQL pool size of hundi                 (default 32)
#   PGHOST/PGPORT/PGUSER PostgreSQL to use; must be on the loopback    (127.0.0.1/5432/postgres)
#   CARGO_TARGET_DIR     honoured for the build and to find the binary
#
# Exit status: 0 when every measured run returned only 201s (targets missed or not),
# 2 when some request did not get a 201, 1 when the benchmark itself failed.
# Traffic goes only to 127.0.0.1. Every process started here is stopped on exit, and the
# databases created here are dropped.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-3}"
CONNS="${BENCH_CONNS:-1 8 32 64}"
RATE_DURATION="${BENCH_RATE_DURATION:-10}"
RATE_CONNS="${BENCH_RATE_CONNS:-32}"
IDLE_WAIT="${BENCH_IDLE_WAIT:-3}"
PARTS="${BENCH_PARTS:-postgres sqlite rss}"
PORT_BASE="${BENCH_PORT:-18400}"
QUIET_PCT="${BENCH_QUIET_PCT:-20}"
QUIET_WAIT="${BENCH_QUIET_WAIT:-120}"
MAX_OTHER="${BENCH_MAX_OTHER:-30}"
RETRIES="${BENCH_RETRIES:-2}"
RESULTS_DIR="${BENCH_RESULTS_DIR:-$REPO/bench/results}"
export HUNDI_DB_POOL_SIZE="${HUNDI_DB_POOL_SIZE:-32}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
HOST=127.0.0.1
BODY='{"amount":"100.00","currency":"PKR","description":"bench"}'

# Targets reported against (the performance issue's goals, against the one-statement
# autocommit baseline).
TARGET_RATIO_CONNS=32
TARGET_RATIO=0.8
TARGET_P99_MS=10
TARGET_SQLITE_RPS=10000
TARGET_RSS_MB=30

case "$PGHOST" in
  127.*|localhost|::1) ;;
  *) echo "PGHOST must be a loopback address (got $PGHOST)" >&2; exit 1 ;;
esac

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
has() { command -v "$1" >/dev/null 2>&1; }
wants() { [[ " $PARTS " == *" $1 "* ]]; }

# ---------------------------------------------------------------- cleanup ----
TMP="$(mktemp -d /tmp/hundi-bench.XXXXXX)"
PIDS=()   # processes we started and have not stopped yet
DBS=()    # PostgreSQL databases we created

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  local db
  for db in "${DBS[@]}"; do dropdb --if-exists --force "$db" 2>/dev/null || log "could not drop $db"; done
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

forget_pid() {
  local keep=() p
  for p in "${PIDS[@]}"; do [[ "$p" != "$1" ]] && keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# ----------------------------------------------------------------- tools -----
APT_UPDATED=0
apt_install() {
  if [[ $APT_UPDATED == 0 ]]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_tools() {
  [[ -d "$HOME/.cargo/bin" ]] && PATH="$PATH:$HOME/.cargo/bin"
  has jq || { log "installing jq"; apt_install jq; }
  has curl || { log "installing curl"; apt_install curl; }
  if wants postgres; then
    has psql && has createdb && has dropdb || { log "installing postgresql-client"; apt_install postgresql-client; }
    has pgbench || { log "installing pgbench (postgresql)"; apt_install postgresql; }
  else
    has dropdb || dropdb() { :; }
  fi
  if ! has oha; then
    log "installing oha (cargo install oha --locked)"
    cargo install oha --locked
  fi
  has oha || die "oha not found after install"
}

build() {
  local target="${CARGO_TARGET_DIR:-$REPO/target}" src="$REPO"
  [[ "$target" = /* ]] || target="$REPO/$target"
  HUNDI="$target/release/hundi"
  local head; head="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  if [[ -n "${BENCH_SOURCE:-}" ]]; then
    # Build a clean export of one commit (read-only for the repository).
    local rev; rev="$(git -C "$REPO" rev-parse --verify "${BENCH_SOURCE}^{commit}")" || die "no commit $BENCH_SOURCE"
    src="$TMP/src"; mkdir -p "$src"
    git -C "$REPO" archive "$rev" | tar -x -C "$src"
    SRC_DESC="commit ${rev:0:12} (exported with git archive; working tree not used)"
    [[ "${BENCH_SKIP_BUILD:-0}" == 1 ]] && die "BENCH_SOURCE needs a build"
  elif [[ -n "$(git -C "$REPO" status --porcelain -- src migrations Cargo.toml Cargo.lock 2>/dev/null)" ]]; then
    SRC_DESC="working tree of $head with uncommitted changes"
  else
    SRC_DESC="working tree at commit $head"
  fi
  if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    log "building the release binary (cargo build --release in ${src})"
    (cd "$src" && CARGO_TARGET_DIR="$target" cargo build --release --quiet)
  else
    SRC_DESC="prebuilt $HUNDI (BENCH_SKIP_BUILD=1; repository at $head)"
  fi
  [[ -x "$HUNDI" ]] || die "no binary at $HUNDI"
}

# ------------------------------------------------------------- processes -----
port_free() { ! (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

free_port() {
  local p
  for ((p = PORT_BASE; p < PORT_BASE + 200; p++)); do
    if port_free "$p"; then echo "$p"; return; fi
  done
  die "no free port from $PORT_BASE"
}

# start_hundi URL LOGFILE: sets HUNDI_PID and BASE_URL, waits for /healthz.
start_hundi() {
  local url="$1" logfile="$2" port
  port="$(free_port)"
  HUNDI_LOG="$logfile"
  "$HUNDI" serve --database-url "$url" --listen "$HOST:$port" >"$logfile" 2>&1 &
  HUNDI_PID=$!
  PIDS+=("$HUNDI_PID")
  BASE_URL="http://$HOST:$port"
  local i
  for ((i = 0; i < 300; i++)); do
    kill -0 "$HUNDI_PID" 2>/dev/null || { cat "$logfile" >&2; die "hundi exited at start"; }
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE_URL/healthz")" == 200 ]]; then return; fi
    sleep 0.1
  done
  die "hundi did not become healthy in 30 s"
}

stop_hundi() {
  kill -TERM "$HUNDI_PID" 2>/dev/null || true
  wait "$HUNDI_PID" 2>/dev/null || true
  forget_pid "$HUNDI_PID"
}

# create_key URL: prints a fresh test secret (merchant + key created with the CLI).
create_key() {
  local url="$1" mid
  mid="$("$HUNDI" merchant create --name Bench --json --database-url "$url" | jq -r .id)"
  # The benchmark measures the server, not its rate limit: the key may go as fast as it can.
  "$HUNDI" key create --merchant "$mid" --mode test --label bench --rate-limit 1000000 --json --database-url "$url" | jq -r .secret
}

new_pg_db() {
  local name="hundi_bench_$1_$$"
  dropdb --if-exists --force "$name" 2>/dev/null || true
  createdb "$name"
  DBS+=("$name")
  echo "$name"
}

drop_pg_db() {
  dropdb --if-exists --force "$1"
  local keep=() d
  for d in "${DBS[@]}"; do [[ "$d" != "$1" ]] && keep+=("$d"); done
  DBS=("${keep[@]}")
}

# --------------------------------------------------------- CPU accounting ----
# CPU time is read from /proc before and after each run; 100% is one core.
CLK_TCK="$(getconf CLK_TCK)"
PG_POSTMASTER=""
find_postmaster() {
  local dir
  dir="$(psql -d postgres -Atc 'SHOW data_directory' 2>/dev/null || true)"
  [[ -n "$dir" && -r "$dir/postmaster.pid" ]] && PG_POSTMASTER="$(head -n1 "$dir/postmaster.pid")"
  [[ -n "$PG_POSTMASTER" ]] || PG_POSTMASTER="$(pgrep -o -x postgres || true)"
}
# Ticks of one process (utime+stime).
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Ticks of all of PostgreSQL: live processes plus the exited backends the postmaster reaped.
pg_ticks() {
  local total=0 p t
  for p in $(pgrep -x postgres || true); do
    t="$(proc_ticks "$p")"; total=$((total + t))
  done
  if [[ -n "$PG_POSTMASTER" && -r "/proc/$PG_POSTMASTER/stat" ]]; then
    t="$(awk '{print $16 + $17}' "/proc/$PG_POSTMASTER/stat")"; total=$((total + t))
  fi
  echo "$total"
}
# Machine: busy and total ticks over all cores.
machine_ticks() { awk '/^cpu /{idle=$5+$6; tot=0; for(i=2;i<=9;i++) tot+=$i; print tot-idle, tot}' /proc/stat; }

cpu_begin() {
  CPU0_HUNDI="$( [[ -n "${1:-}" ]] && proc_ticks "$1" || echo 0)"
  CPU0_PG="$(pg_ticks)"
  read -r CPU0_BUSY CPU0_TOT < <(machine_ticks)
  CPU0_T="$(date +%s.%N)"
}
# cpu_end HUNDI_PID CLIENT_SECONDS -> "hundi% postgres% client% machine% other%"
# (other = machine - the three: kernel threads doing I/O, and anything else running)
cpu_end() {
  local h pg busy tot t
  h="$( [[ -n "${1:-}" ]] && proc_ticks "$1" || echo 0)"
  pg="$(pg_ticks)"
  read -r busy tot < <(machine_ticks)
  t="$(date +%s.%N)"
  awk -v h=$((h - CPU0_HUNDI)) -v pg=$((pg - CPU0_PG)) -v b=$((busy - CPU0_BUSY)) -v tt=$((tot - CPU0_TOT)) \
      -v cl="$2" -v el="$(awk -v a="$CPU0_T" -v b="$t" 'BEGIN{print b-a}')" -v hz="$CLK_TCK" -v n="$(nproc)" \
      'BEGIN{hh=100*h/hz/el; pp=100*pg/hz/el; cc=100*cl/el; m=(tt>0 ? 100*n*b/tt : 0); o=m-hh-pp-cc; if (o<0) o=0
             printf "%.0f %.0f %.0f %.0f %.0f\n", hh, pp, cc, m, o}'
}

# Other work on this small machine skews every figure: wait for a quiet moment first.
NOT_QUIET=0
wait_quiet() {
  [[ "$QUIET_WAIT" == 0 ]] && return
  local start=$SECONDS busy
  while :; do
    cpu_begin ""; sleep 1; busy="$(cpu_end "" 0 | cut -d' ' -f4)"
    ((busy <= QUIET_PCT)) && return
    if ((SECONDS - start >= QUIET_WAIT)); then
      log "  machine still ${busy}% busy after ${QUIET_WAIT}s of waiting; measuring anyway"
      NOT_QUIET=$((NOT_QUIET + 1))
      return
    fi
  done
}

# --------------------------------------------------------------- load ------
# run_oha NAME CONNS SECONDS SECRET [QPS]: writes $RAW/NAME.json, sets OHA_* values.
run_oha() {
  local name="$1" conns="$2" secs="$3" secret="$4" qps="${5:-}"
  local out="$RAW/$name.json" extra=() timef="$TMP/time.$name"
  [[ -n "$qps" ]] && extra=(-q "$qps" --latency-correction)
  local TIMEFORMAT='%U %S'
  { time oha --no-tui -c "$conns" -z "${secs}s" -w -m POST \
      -H "Authorization: Bearer $secret" -T application/json -d "$BODY" \
      "${extra[@]}" --output-format json "$BASE_URL/v1/payments" >"$out" 2>"$RAW/$name.stderr"; } 2>"$timef"
  OHA_CPU="$(awk '{print $1 + $2}' "$timef")"
  OHA_RPS="$(jq -r '.summary.requestsPerSec // 0' "$out")"
  OHA_P50="$(jq -r '(.latencyPercentiles.p50 // 0) * 1000' "$out")"
  OHA_P99="$(jq -r '(.latencyPercentiles.p99 // 0) * 1000' "$out")"
  OHA_OK="$(jq -r '.statusCodeDistribution["201"] // 0' "$out")"
  OHA_BAD="$(jq -r '([.statusCodeDistribution | to_entries[] | select(.key != "201") | .value] | add // 0)
                    + ([.errorDistribution | to_entries[] | .value] | add // 0)' "$out")"
  if [[ "$OHA_BAD" != 0 ]]; then
    NON201_TOTAL=$((NON201_TOTAL + OHA_BAD))
    log "  $name: $OHA_BAD requests without 201: $(jq -c '{statusCodeDistribution, errorDistribution}' "$out")"
  fi
  if ! kill -0 "$HUNDI_PID" 2>/dev/null; then
    tail -n 20 "$HUNDI_LOG" >&2
    die "hundi (pid $HUNDI_PID) is gone: it exited or was killed from outside during $name (log above)"
  fi
}

# The server's checkpoints so far (timed and requested) and WAL bytes written.
wal_counters() {
  psql -d postgres -Atc "SELECT (SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter)
    || ' ' || (SELECT wal_bytes FROM pg_stat_wal)"
}

warm_up() { # CONNS SECRET
  [[ "$WARMUP" == 0 ]] && return
  oha --no-tui -c "$1" -z "${WARMUP}s" -w -m POST -H "Authorization: Bearer $2" -T application/json \
    -d "$BODY" --output-format quiet "$BASE_URL/v1/payments" >/dev/null
}

# A run during which something else used the CPU is repeated (up to BENCH_RETRIES times);
# the last attempt is kept and marked "noisy" if it still was.
noisy() { (($(cut -d' ' -f5 <<<"$1") > MAX_OTHER)); }
NOISY_RUNS=0

# load_series LABEL SECRET: runs every connection count; fills RES[LABEL,c].
load_series() {
  local label="$1" secret="$2" c cpu attempt note
  for c in $CONNS; do
    for ((attempt = 0; attempt <= RETRIES; attempt++)); do
      wait_quiet
      warm_up "$c" "$secret"
      cpu_begin "$HUNDI_PID"
      run_oha "${label}_c$c" "$c" "$DURATION" "$secret"
      cpu="$(cpu_end "$HUNDI_PID" "$OHA_CPU")"
      log "  $label c=$c: $(fmt0 "$OHA_RPS") req/s, p50 $(fmt2 "$OHA_P50") ms, p99 $(fmt2 "$OHA_P99") ms, non-201 $OHA_BAD, cpu% hundi/pg/oha/machine/other $cpu"
      noisy "$cpu" || break
      log "  (other processes used ${cpu##* }% of a core during the run)"
    done
    note=""; noisy "$cpu" && { note="noisy"; NOISY_RUNS=$((NOISY_RUNS + 1)); }
    RES["$label,$c"]="$OHA_RPS $OHA_P50 $OHA_P99 $OHA_OK $OHA_BAD $cpu $note"
  done
}

fmt0() { printf '%.0f' "$1"; }
fmt2() { printf '%.2f' "$1"; }
le() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a <= b)}'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a >= b)}'; }
yesno() { if "$@"; then echo "**met**"; else echo "**MISSED**"; fi; }

# ---------------------------------------------------------------- parts -----
declare -A RES PGB
NON201_TOTAL=0

part_postgres() {
  log "PostgreSQL: Hundi (pool $HUNDI_DB_POOL_SIZE)"
  find_postmaster
  local db url secret
  db="$(new_pg_db hundi)"
  url="postgres://$PGUSER@$PGHOST:$PGPORT/$db"
  secret="$(create_key "$url")"
  start_hundi "$url" "$RAW/hundi-postgres.log"
  local code
  code="$(curl -s -o "$RAW/first-payment-postgres.json" -w '%{http_code}' -X POST "$BASE_URL/v1/payments" \
      -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' -d "$BODY")"
  [[ "$code" == 201 ]] || die "first payment on PostgreSQL returned $code: $(cat "$RAW/first-payment-postgres.json")"
  load_series pg "$secret"

  # Max rate: the best run; then half of it, rate-limited.
  local c best=0 bestc=""
  for c in $CONNS; do
    local rps; rps="$(cut -d' ' -f1 <<<"${RES["pg,$c"]}")"
    if awk -v a="$rps" -v b="$best" 'BEGIN{exit !(a > b)}'; then best="$rps"; bestc="$c"; fi
  done
  PG_MAX="$best"; PG_MAX_C="$bestc"
  PG_HALF="$(awk -v m="$best" 'BEGIN{printf "%d", m / 2}')"
  [[ "$PG_HALF" -ge 1 ]] || PG_HALF=1
  log "  max $(fmt0 "$PG_MAX") req/s at c=$PG_MAX_C; rate-limited run at $PG_HALF req/s, c=$RATE_CONNS, ${RATE_DURATION}s"
  local cpu attempt wal0 wal1
  for ((attempt = 0; attempt <= RETRIES; attempt++)); do
    wait_quiet
    # The runs above wrote gigabytes of WAL: start this one with a checkpoint behind it, as a
    # server between checkpoints is, and record whether one began during the run anyway.
    psql -q -d "$db" -c CHECKPOINT
    wal0="$(wal_counters)"
    cpu_begin "$HUNDI_PID"
    run_oha "pg_rate_half" "$RATE_CONNS" "$RATE_DURATION" "$secret" "$PG_HALF"
    cpu="$(cpu_end "$HUNDI_PID" "$OHA_CPU")"
    wal1="$(wal_counters)"
    log "  rate-limited: $(fmt0 "$OHA_RPS") req/s, p50 $(fmt2 "$OHA_P50") ms, p99 $(fmt2 "$OHA_P99") ms, non-201 $OHA_BAD, cpu% hundi/pg/oha/machine/other $cpu"
    noisy "$cpu" || break
    log "  (other processes used ${cpu##* }% of a core during the run)"
  done
  local note=""; noisy "$cpu" && { note="noisy"; NOISY_RUNS=$((NOISY_RUNS + 1)); }
  RATE_RES="$OHA_RPS $OHA_P50 $OHA_P99 $OHA_OK $OHA_BAD $cpu $note"
  RATE_WAL="$(awk -v a="$wal0" -v b="$wal1" -v n="$OHA_OK" 'BEGIN{split(a,x," "); split(b,y," ");
    printf "%d checkpoint(s) began during the run; %.0f bytes of WAL per 201", y[1]-x[1], (y[2]-x[2])/(n>0?n:1)}')"
  PG_ROWS="$(psql -d "$db" -Atc 'SELECT count(*) FROM payments')"
  stop_hundi
  drop_pg_db "$db"

  log "PostgreSQL: pgbench ceiling (one-statement autocommit INSERT)"
  local pdb; pdb="$(new_pg_db pgbench)"
  psql -q -d "$pdb" -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE bench_payments (
    id           TEXT PRIMARY KEY,
    merchant_id  TEXT NOT NULL,
    status       TEXT NOT NULL,
    currency     TEXT NOT NULL,
    description  TEXT,
    amount_minor BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
SQL
  # Ids are time-ordered like Hundi's (UUIDv7), so inserts are local in the b-tree. One
  # statement in autocommit: one round trip, the cheapest durable insert PostgreSQL offers
  # (a BEGIN; INSERT; END; script takes three and flatters the ratio by nearly 2x).
  cat >"$RAW/pgbench_insert.sql" <<'SQL'
INSERT INTO bench_payments (id, merchant_id, status, currency, description, amount_minor, created_at)
VALUES ('pay_' || lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000000)::bigint), 14, '0') || substr(md5(random()::text), 1, 18),
        'mer_bench', 'pending', 'PKR', 'bench', 10000, now());
SQL
  for c in $CONNS; do
    local j=$((c < 2 ? c : 2)) out="$RAW/pgbench_c$c.txt" tps lat failed pcpu
    local TIMEFORMAT='%U %S'
    for ((attempt = 0; attempt <= RETRIES; attempt++)); do
      wait_quiet
      if [[ "$WARMUP" != 0 ]]; then
        pgbench -n -c "$c" -j "$j" -T "$WARMUP" -f "$RAW/pgbench_insert.sql" "$pdb" >/dev/null 2>&1
      fi
      cpu_begin ""
      { time pgbench -n -c "$c" -j "$j" -T "$DURATION" -f "$RAW/pgbench_insert.sql" "$pdb" >"$out" 2>&1; } 2>"$TMP/pgb.time"
      pcpu="$(awk '{print $1 + $2}' "$TMP/pgb.time")"
      cpu="$(cpu_end "" "$pcpu")"
      tps="$(grep -oP 'tps = \K[0-9.]+' "$out" | head -n1 || true)"
      lat="$(grep -oP 'latency average = \K[0-9.]+' "$out" | head -n1 || true)"
      failed="$(grep -oP 'number of failed transactions: \K[0-9]+' "$out" | head -n1 || true)"
      [[ -n "$tps" ]] || { cat "$out" >&2; die "pgbench failed at c=$c"; }
      log "  pgbench c=$c: $(fmt0 "$tps") tps, latency avg $lat ms, failed ${failed:-0}, cpu% -/pg/pgbench/machine/other $cpu"
      noisy "$cpu" || break
      log "  (other processes used ${cpu##* }% of a core during the run)"
    done
    note=""; noisy "$cpu" && { note="noisy"; NOISY_RUNS=$((NOISY_RUNS + 1)); }
    PGB["$c"]="$tps $lat ${failed:-0} $cpu $note"
  done
  # The database's own tail at Hundi's rate-limited rate: the same one-row insert, paced at
  # that rate from as many clients (after a checkpoint, as Hundi's run), p99 from pgbench's
  # per-transaction log (latency in µs, third field; with -R it counts the time waited
  # behind a late transaction, as oha's --latency-correction does).
  if [[ -n "${PG_HALF:-}" ]]; then
    wait_quiet
    psql -q -d "$pdb" -c CHECKPOINT
    rm -f "$TMP"/pgblog*
    pgbench -n -c "$RATE_CONNS" -j 2 -T "$RATE_DURATION" -R "$PG_HALF" -l --log-prefix="$TMP/pgblog" \
      -f "$RAW/pgbench_insert.sql" "$pdb" >"$RAW/pgbench_rate.txt" 2>&1 || die "pgbench -R failed"
    PGB_RATE="$(cat "$TMP"/pgblog* | awk '{print $3}' | sort -n | awk '{v[NR]=$1} END {
      if (NR == 0) { print "- - -"; exit }
      a = int(NR * 0.5); b = int(NR * 0.99); if (a < 1) a = 1; if (b < 1) b = 1
      printf "%.2f %.2f %d", v[a] / 1000, v[b] / 1000, NR }')"
    log "  pgbench at $PG_HALF tps: p50/p99 ms and transactions: $PGB_RATE"
  fi
  drop_pg_db "$pdb"
}

part_sqlite() {
  log "SQLite: Hundi (WAL, synchronous=FULL)"
  local dir="$TMP/sqlite" url secret
  mkdir -p "$dir"
  url="sqlite://$dir/bench.db"
  secret="$(create_key "$url")"
  start_hundi "$url" "$RAW/hundi-sqlite.log"
  local code
  code="$(curl -s -o "$RAW/first-payment-sqlite.json" -w '%{http_code}' -X POST "$BASE_URL/v1/payments" \
      -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' -d "$BODY")"
  [[ "$code" == 201 ]] || die "first payment on SQLite returned $code: $(cat "$RAW/first-payment-sqlite.json")"
  find_postmaster
  load_series sqlite "$secret"
  stop_hundi
  rm -rf "$dir"
}

part_rss() {
  log "Idle RSS (SQLite, ${IDLE_WAIT}s idle after /healthz)"
  local dir="$TMP/rss"
  mkdir -p "$dir"
  start_hundi "sqlite://$dir/idle.db" "$RAW/hundi-idle.log"
  sleep "$IDLE_WAIT"
  RSS_KB="$(awk '/^VmRSS:/{print $2}' "/proc/$HUNDI_PID/status")"
  RSS_MB="$(awk -v k="$RSS_KB" 'BEGIN{printf "%.1f", k / 1024}')"
  log "  VmRSS $RSS_KB kB = $RSS_MB MB"
  stop_hundi
  rm -rf "$dir"
}

# --------------------------------------------------------------- report -----
report() {
  local c r
  echo "# Hundi benchmark: payment creation"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); source: $SRC_DESC"
  echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -h | awk '/^Mem:/{print $2}') RAM; load generator, server and database share these cores"
  echo "- load: \`$(oha --version)\`, POST /v1/payments \`$BODY\`, ${WARMUP}s warm-up + ${DURATION}s per run, HTTP/1.1 keep-alive"
  if wants postgres; then
    echo "- PostgreSQL: $(psql -d postgres -Atc 'SHOW server_version'), synchronous_commit=$(psql -d postgres -Atc 'SHOW synchronous_commit'), fsync=$(psql -d postgres -Atc 'SHOW fsync'); Hundi pool HUNDI_DB_POOL_SIZE=$HUNDI_DB_POOL_SIZE; pgbench \`-n -c N -j min(N,2) -T $DURATION\`, one-statement autocommit INSERT"
  fi
  echo "- SQLite: WAL, synchronous=FULL, one writer connection"
  echo "- CPU columns: % of one core over the run, from /proc (machine: busy of $(( $(nproc) * 100 ))%; other = machine minus the named processes, i.e. kernel I/O threads and anything else running)"
  echo "- machine busy before the run (2 s sample, nothing of ours running): $IDLE_BEFORE% of $(( $(nproc) * 100 ))%; each measured run waited for the machine to be ≤ ${QUIET_PCT}% busy (up to ${QUIET_WAIT}s)$( ((NOT_QUIET > 0)) && echo "; **$NOT_QUIET run(s) started on a busy machine**")"
  echo "- a run during which other processes took more than ${MAX_OTHER}% of a core was repeated (up to $RETRIES times); runs still disturbed are marked **noisy** ($NOISY_RUNS)"
  echo
  if wants postgres; then
    echo "## PostgreSQL"
    echo
    echo "| conns | Hundi req/s | p50 ms | p99 ms | 201s | non-201 | pgbench TPS | pgbench lat avg ms | Hundi/pgbench | CPU% hundi / postgres / oha / machine / other | CPU% postgres / pgbench / machine / other (pgbench run) |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
    for c in $CONNS; do
      read -r rps p50 p99 ok bad ch cp cl cm co cn <<<"${RES["pg,$c"]}"
      read -r tps lat pfail _ bpg bcl bm bo bn <<<"${PGB[$c]}"
      echo "| $c | $(fmt0 "$rps") | $(fmt2 "$p50") | $(fmt2 "$p99") | $ok | $bad | $(fmt0 "$tps") | $lat | $(fmt2 "$(awk -v a="$rps" -v b="$tps" 'BEGIN{print a/b}')") | $ch / $cp / $cl / $cm / $co${cn:+ **$cn**} | $bpg / $bcl / $bm / $bo${bn:+ **$bn**} |"
    done
    echo
    read -r rps p50 p99 ok bad ch cp cl cm co cn <<<"$RATE_RES"
    echo "Rate-limited run: half of Hundi's max ($(fmt0 "$PG_MAX") req/s at $PG_MAX_C conns) = **$PG_HALF req/s**, $RATE_CONNS connections, ${RATE_DURATION}s, oha \`-q $PG_HALF --latency-correction\`:"
    echo "achieved $(fmt0 "$rps") req/s, p50 $(fmt2 "$p50") ms, **p99 $(fmt2 "$p99") ms**, $ok × 201, $bad non-201; CPU% hundi / postgres / oha / machine / other: $ch / $cp / $cl / $cm / $co${cn:+ (**$cn**)}."
    echo
    echo "The run began right after a CHECKPOINT; $RATE_WAL (the whole server's WAL, nothing else running)."
    if [[ -n "${PGB_RATE:-}" ]]; then
      read -r gp50 gp99 gn <<<"$PGB_RATE"
      echo
      echo "PostgreSQL alone at the same rate (pgbench one-row INSERT, \`-R $PG_HALF -c $RATE_CONNS\`, ${RATE_DURATION}s, after a CHECKPOINT): p50 $gp50 ms, **p99 $gp99 ms**, $gn transactions."
    fi
    echo
    echo "Rows in payments after the PostgreSQL runs: $PG_ROWS."
    echo
  fi
  if wants sqlite; then
    echo "## SQLite"
    echo
    echo "| conns | creates/s | p50 ms | p99 ms | 201s | non-201 | CPU% hundi / oha / machine / other |"
    echo "|---:|---:|---:|---:|---:|---:|---|"
    for c in $CONNS; do
      read -r rps p50 p99 ok bad ch cp cl cm co cn <<<"${RES["sqlite,$c"]}"
      echo "| $c | $(fmt0 "$rps") | $(fmt2 "$p50") | $(fmt2 "$p99") | $ok | $bad | $ch / $cl / $cm / $co${cn:+ **$cn**} |"
    done
    echo
  fi
  if wants rss; then
    echo "## Idle memory"
    echo
    echo "VmRSS of \`hundi serve\` on a fresh SQLite database, ${IDLE_WAIT}s idle after /healthz: **$RSS_MB MB** ($RSS_KB kB)."
    echo
  fi
  echo "## Targets"
  echo
  echo "| target | measured | result |"
  echo "|---|---|---|"
  if wants postgres; then
    local rc="$TARGET_RATIO_CONNS"
    if [[ -n "${RES["pg,$rc"]:-}" && -n "${PGB[$rc]:-}" ]]; then
      local ratio
      ratio="$(awk -v a="$(cut -d' ' -f1 <<<"${RES["pg,$rc"]}")" -v b="$(cut -d' ' -f1 <<<"${PGB[$rc]}")" 'BEGIN{printf "%.2f", a/b}')"
      echo "| PostgreSQL: Hundi/pgbench at $rc conns ≥ $TARGET_RATIO | $ratio | $(yesno ge "$ratio" "$TARGET_RATIO") |"
    fi
    local p99; p99="$(cut -d' ' -f3 <<<"$RATE_RES")"
    echo "| PostgreSQL: p99 < $TARGET_P99_MS ms at half max rate ($PG_HALF req/s, $RATE_CONNS conns) | $(fmt2 "$p99") ms | $(yesno awk -v a="$p99" -v b="$TARGET_P99_MS" 'BEGIN{exit !(a < b)}') |"
  fi
  if wants sqlite; then
    local best=0
    for c in $CONNS; do
      r="$(cut -d' ' -f1 <<<"${RES["sqlite,$c"]}")"
      awk -v a="$r" -v b="$best" 'BEGIN{exit !(a > b)}' && best="$r"
    done
    echo "| SQLite: ≥ $TARGET_SQLITE_RPS creates/s (best run) | $(fmt0 "$best")/s | $(yesno ge "$best" "$TARGET_SQLITE_RPS") |"
  fi
  if wants rss; then
    echo "| Idle RSS ≤ $TARGET_RSS_MB MB | $RSS_MB MB | $(yesno le "$RSS_MB" "$TARGET_RSS_MB") |"
  fi
  echo "| every response 201 | $NON201_TOTAL non-201 | $( [[ $NON201_TOTAL == 0 ]] && echo '**met**' || echo '**FAILED**') |"
}

# ------------------------------------------------------------------ main -----
main() {
  mkdir -p "$RESULTS_DIR"
  RAW="$RESULTS_DIR/raw"
  rm -rf "$RAW"; mkdir -p "$RAW"
  ensure_tools
  build
  cpu_begin ""; sleep 2; IDLE_BEFORE="$(cpu_end "" 0 | cut -d' ' -f4)"
  log "machine busy before the run: $IDLE_BEFORE% of $(( $(nproc) * 100 ))% (other work on the machine skews the figures)"
  log "binary: $HUNDI; parts: $PARTS; conns: $CONNS; ${WARMUP}s warm-up + ${DURATION}s per run"
  wants postgres && part_postgres
  wants sqlite && part_sqlite
  wants rss && part_rss
  report >"$RESULTS_DIR/latest.md"
  echo
  cat "$RESULTS_DIR/latest.md"
  echo
  log "written to ${RESULTS_DIR#"$REPO"/}/latest.md (raw outputs in ${RAW#"$REPO"/}/)"
  [[ $NON201_TOTAL == 0 ]] || exit 2
}

main "$@"
