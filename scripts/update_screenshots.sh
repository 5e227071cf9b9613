#!/usr/bin/env bash
# Refreshes the committed pictures in docs/screenshots/ on purpose: runs the browser tests
# (which write their screenshots under target/tmp/screenshots/, never into docs/) and copies
# what they took. Review `git diff --stat docs/screenshots` before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
export HUNDI_TEST_PG_URL="${HUNDI_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
shots="${CARGO_TARGET_DIR:-target}/tmp/screenshots"
rm -rf "$shots"
cargo test --locked --test it -- dashboard_browser:: dialect_paygate:: two_factor_browser::an_owner payment_links_browser:: checkout_languages::
mkdir -p docs/screenshots
cp -v "$shots"/*.png docs/screenshots/
