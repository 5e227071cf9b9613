#!/usr/bin/env bash
# Runs every test of Hundi: unit tests, the store conformance suite on SQLite and PostgreSQL,
# HTTP, concurrency and process (CLI, SIGKILL, SIGTERM) tests.
# Installs or starts what the tests need; safe to run on a fresh machine as root.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=false
apt_install() {
  if [ "$apt_updated" = false ]; then
    as_root apt-get update -qq
    apt_updated=true
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@"
}

# PostgreSQL: the tests create (and drop) their own databases on it.
export HUNDI_TEST_PG_URL="${HUNDI_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! command -v pg_isready >/dev/null 2>&1; then
  log "installing PostgreSQL"
  apt_install postgresql
fi
if ! pg_up; then
  log "starting PostgreSQL"
  for version in $(ls /etc/postgresql 2>/dev/null); do
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 60); do pg_up && break; sleep 1; done
  pg_up || { echo "PostgreSQL is not reachable at 127.0.0.1:5432" >&2; exit 1; }
fi

# Browser tests drive Debian's Chromium through ChromeDriver, never a downloaded browser.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  log "installing Chromium and ChromeDriver"
  apt_install chromium chromium-driver
fi

# The mailbox tests read bank alerts from a real IMAP server: Debian's Dovecot, which each
# test starts on 127.0.0.1 with a certificate made by openssl (tests/it/common/mail_server.rs).
if ! command -v dovecot >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
  log "installing Dovecot (IMAP) and openssl"
  apt_install dovecot-imapd openssl
fi

# HTTPS by ACME is tested against Debian's pebble (Let's Encrypt's test server) and its DNS
# companion pebble-challtestsrv, started on 127.0.0.1 by tests/it/common/acme_server.rs.
if ! command -v pebble >/dev/null 2>&1 || ! command -v pebble-challtestsrv >/dev/null 2>&1; then
  log "installing pebble (a test ACME server)"
  apt_install pebble
fi

# The checkout's screenshots in Bengali, Hindi and Urdu need fonts with those scripts (a
# customer's phone has them; a bare server does not). Debian's Noto fonts, about 12 MB.
if ! fc-list 2>/dev/null | grep -q "Noto Sans Bengali"; then
  log "installing the Noto fonts (Bengali, Devanagari, Arabic scripts)"
  apt_install fonts-noto-core
fi

# Python test clients: webhook signatures are checked by the `standardwebhooks` library from
# PyPI, unmodified; the gateways' documented Python examples use `requests`. Receipts are sent
# to an SMTP server made with `aiosmtpd` (tests/clients/smtp_sink.py).
if ! python3 -c 'import standardwebhooks, requests, aiosmtpd' >/dev/null 2>&1; then
  log "installing the Python test clients' libraries"
  if ! command -v python3 >/dev/null 2>&1; then apt_install python3 python3-pip; fi
  python3 -m pip install --quiet --disable-pip-version-check standardwebhooks requests aiosmtpd \
    || python3 -m pip install --quiet --break-system-packages standardwebhooks requests aiosmtpd
fi

# The OpenAPI document is held to the server by schemathesis (tests/it/openapi_schemathesis.rs);
# its 4.x command line is the one the test uses.
if ! command -v schemathesis >/dev/null 2>&1; then
  log "installing schemathesis"
  python3 -m pip install --quiet --disable-pip-version-check 'schemathesis>=4,<5' \
    || python3 -m pip install --quiet --break-system-packages 'schemathesis>=4,<5'
fi

# The gateways' documented cURL, PHP (curl) and Node.js (axios, express) examples run as written.
if ! command -v curl >/dev/null 2>&1; then
  log "installing curl"
  apt_install curl
fi
if ! command -v php >/dev/null 2>&1 || ! php -r 'exit(function_exists("curl_init") ? 0 : 1);'; then
  log "installing php-cli and php-curl"
  apt_install php-cli php-curl
fi
if ! command -v node >/dev/null 2>&1; then
  log "installing Node.js"
  apt_install nodejs npm
fi
if [ ! -d tests/clients/node/node_modules ]; then
  log "installing the Node.js test clients' packages"
  (cd tests/clients/node && npm ci --no-audit --no-fund --silent)
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is needed: install Rust (https://rustup.rs) first" >&2
  exit 1
fi

# deploy/hundi.service is checked by systemd itself. `verify` exits 0 even on a misspelt key, so
# any line it prints fails the run; the binary it starts is not installed here, so a copy of the
# unit names a stand-in executable (the directives checked are the same).
if ! command -v systemd-analyze >/dev/null 2>&1; then
  log "installing systemd (for systemd-analyze)"
  apt_install systemd
fi
log "verifying deploy/hundi.service"
unit_dir=$(mktemp -d)
sed "s#^ExecStart=/usr/local/bin/hundi#ExecStart=$(command -v true)#" deploy/hundi.service > "$unit_dir/hundi.service"
unit_report=$(systemd-analyze verify "$unit_dir/hundi.service" 2>&1 || echo "systemd-analyze failed")
rm -rf "$unit_dir"
if [ -n "$unit_report" ]; then
  echo "$unit_report" >&2
  echo "deploy/hundi.service does not verify" >&2
  exit 1
fi

log "running the tests"
output=$(mktemp)
trap 'rm -f "$output"' EXIT
set +e
cargo test --locked --no-fail-fast --all-targets "$@" 2>&1 | tee "$output"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole suite (cargo prints one per test binary; a test that printed
# without a final newline can put it mid-line, so it is matched anywhere).
awk '/test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$output"
exit "$status"
