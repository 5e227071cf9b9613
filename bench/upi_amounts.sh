#!/usr/bin/env bash
# Benchmark of a UPI payment's create cost against its amount: POST /v1/payments of
# 1,000,000,000.00 INR against the cheapest honest baseline, 100.00 INR, to a merchant with a
# UPI id. Finding the payable amount reads at most 100 candidates whatever the amount, so the
# two should cost the same (before, 10,000,000.00 took seconds and gigabytes).
#
#   bench/upi_amounts.sh                 # builds the release binary, 100 creates of each
#   BENCH_SKIP_BUILD=1 bench/upi_amounts.sh
#
# Settings (environment):
#   BENCH_ROUNDS       creates of each amount, interleaved (default 100: the 100 payable
#                      amounts one requested amount offers; one more of each is then refused)
#   BENCH_SKIP_BUILD=1 use the binary already built
#   BENCH_PROFILE      cargo profile of the binary: release (default) or debug
#   BENCH_PORT         port for hundi                        (default 18490)
#   BENCH_DATABASE_URL database to use (default: a new SQLite file in a temporary folder)
#   CARGO_TARGET_DIR   honoured for the build and to find the binary
#
# Measures each request's time at the client (one keep-alive connection on 127.0.0.1), prints
# p50 / p95 / max per amount, the ratio of the medians, the answer to the 101st create of each
# amount, and hundi's peak RSS (VmHWM). Writes the table to bench/results/upi_amounts.md.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
ROUNDS="${BENCH_ROUNDS:-100}"
PORT="${BENCH_PORT:-18490}"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
PROFILE="${BENCH_PROFILE:-release}"
BIN="$TARGET/$PROFILE/hundi"
WORK="$(mktemp -d)"
PID=""

cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  if [ "$PROFILE" = release ]; then cargo build --release --locked -q; else cargo build --locked -q; fi
fi

export HUNDI_DATABASE_URL="${BENCH_DATABASE_URL:-sqlite://$WORK/bench.db}"
export HUNDI_MASTER_KEY_FILE="$WORK/hundi.key"
"$BIN" migrate >/dev/null
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
MERCHANT=$("$BIN" merchant create --name "Bench Shop" --json | json_field id)
"$BIN" merchant set-upi --merchant "$MERCHANT" --upi-id bench@okaxis --upi-name "Bench Shop" >/dev/null
SECRET=$("$BIN" key create --merchant "$MERCHANT" --mode test --label bench --json | json_field secret)

"$BIN" serve --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

mkdir -p bench/results
COMMIT="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src migrations || echo '+changes')"
python3 - "$PORT" "$SECRET" "$ROUNDS" "$PID" "$COMMIT" "$PROFILE" <<'PY' | tee bench/results/upi_amounts.md
import http.client, json, statistics, sys, time
port, secret, rounds, pid, commit, profile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
conn = http.client.HTTPConnection("127.0.0.1", int(port))
headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}

def create(amount):
    body = json.dumps({"amount": amount, "currency": "INR"})
    started = time.perf_counter()
    conn.request("POST", "/v1/payments", body, headers)
    res = conn.getresponse()
    data = json.loads(res.read())
    return (time.perf_counter() - started) * 1000, res.status, data

amounts = ["100.00", "1000000000.00"]
for a in amounts:  # warm-up: one create each (its payable amount stays held)
    create(a)
times = {a: [] for a in amounts}
for _ in range(rounds - 1):
    for a in amounts:
        ms, status, data = create(a)
        assert status == 201, (a, status, data)
        times[a].append(ms)
refused = {}
for a in amounts:
    ms, status, data = create(a)
    refused[a] = (status, data.get("error", {}).get("code"), ms)
hwm = next(l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM"))

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

print(f"UPI create cost by amount (commit {commit}, {profile} build, {rounds - 1} measured creates of each, one keep-alive connection)\n")
print("| amount (INR) | p50 ms | p95 ms | max ms | next create (all 100 payables held) |")
print("|---:|---:|---:|---:|---|")
for a in amounts:
    xs = times[a]
    s, code, ms = refused[a]
    print(f"| {a} | {pct(xs, 50):.2f} | {pct(xs, 95):.2f} | {max(xs):.2f} | {s} {code} in {ms:.2f} ms |")
ratio = statistics.median(times["1000000000.00"]) / statistics.median(times["100.00"])
print(f"\nmedian 1,000,000,000.00 / median 100.00 = {ratio:.2f}; hundi peak RSS (VmHWM) {int(hwm) / 1024:.1f} MB")
PY
