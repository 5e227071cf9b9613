#!/usr/bin/env bash
# The database's cost of one payment create: CPU seconds spent by PostgreSQL's processes and
# by Hundi's process, per create, while 8 connections create payments for BENCH_SECONDS
# (default 20), read from /proc before and after. The figures behind docs/scaling.md.
#
#   bench/db_cost.sh
#
# Settings: BENCH_SECONDS, BENCH_SKIP_BUILD=1, BENCH_PORT (18495), PGHOST/PGPORT/PGUSER,
# CARGO_TARGET_DIR. Linux only (reads /proc). Traffic goes only to 127.0.0.1.

set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres_shop.sh"
SECONDS_EACH="${BENCH_SECONDS:-20}"
PORT="${BENCH_PORT:-18495}"

# CPU seconds (user + system) of the given processes.
cpu() {
  python3 - "$@" <<'PY'
import os, sys
tick = os.sysconf("SC_CLK_TCK")
total = 0
for pid in sys.argv[1:]:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    except (FileNotFoundError, ProcessLookupError):
        pass
print(total / tick)
PY
}
postgres_pids() { pgrep -d ' ' -x postgres || pgrep -d ' ' -f 'postgres:' || true; }

bench_setup cost
bench_serve "$PORT" HUNDI_RATE_LIMIT=100000
python3 bench/create_latency.py "$URL" "$KEY" 3 8 >/dev/null # warm-up

# PostgreSQL's backends come and go with connections: sample the set again at the end.
lsn_before=$(psql -At -d "$DB" -c "SELECT pg_current_wal_lsn()")
pg_before=$(cpu $(postgres_pids)); hundi_before=$(cpu "$PID")
result=$(python3 bench/create_latency.py "$URL" "$KEY" "$SECONDS_EACH" 8)
pg_after=$(cpu $(postgres_pids)); hundi_after=$(cpu "$PID")
wal=$(psql -At -d "$DB" -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn_before')")
creates=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['creates'])" "$result")
python3 - "$creates" "$pg_before" "$pg_after" "$hundi_before" "$hundi_after" "$result" "$wal" <<'PY'
import json, sys
n, pb, pa, hb, ha, result = int(sys.argv[1]), *map(float, sys.argv[2:6]), json.loads(sys.argv[6])
wal = float(sys.argv[7])
print(f"creates: {n} ({result['per_second']}/s, p99 {result['p99_ms']} ms)")
print(f"PostgreSQL CPU per create: {(pa - pb) / n * 1000:.3f} ms")
print(f"Hundi CPU per create:      {(ha - hb) / n * 1000:.3f} ms")
print(f"WAL per create:            {wal / n:.0f} bytes")
PY
