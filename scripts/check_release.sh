#!/usr/bin/env bash
# The slower release check (not part of scripts/test.sh: a cold static build takes about
# 11 minutes on 2 cores): builds the release binary with scripts/release.sh, then starts it
# where nothing else exists — a chroot holding only the binary and an empty data directory,
# no Rust, no libraries, no /etc — and waits for `serve` on a fresh SQLite database to answer
# /healthz. Needs root (chroot).
#
#   scripts/check_release.sh            # build, then check
#   CHECK_SKIP_BUILD=1 scripts/check_release.sh   # check the binary already in dist/
set -euo pipefail
cd "$(dirname "$0")/.."

[ "${CHECK_SKIP_BUILD:-}" = 1 ] || ./scripts/release.sh
binary=$(ls dist/hundi-*-x86_64-linux | head -1)
root=$(mktemp -d /tmp/hundi-bare.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$root"
}
trap cleanup EXIT

install -m 755 "$binary" "$root/hundi"
mkdir -m 700 "$root/data"
echo "==> the machine it starts on: $(cd "$root" && find . | sort | tr '\n' ' ')"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
chroot "$root" /hundi --version
chroot "$root" /hundi serve --listen "127.0.0.1:$port" --database-url sqlite:///data/hundi.db \
  > "$root/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do
  if body=$(curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null); then
    echo "==> /healthz: $body"
    echo "==> data written: $(ls "$root/data" | tr '\n' ' ')"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
cat "$root/serve.log" >&2
echo "the release binary did not answer /healthz" >&2
exit 1
